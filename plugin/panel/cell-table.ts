import { LitElement, css, html, nothing, svg, type PropertyValues } from 'lit';
import { tableView, type ValueRange } from '../../core/cells/cell-table-view.js';
import { histogram } from '../../core/math/histogram.js';
import type { CellTableRow } from '../../core/session/session.js';

/** Fixed row height: what lets the table place row k at k·ROW_HEIGHT and draw only those in view. */
const ROW_HEIGHT = 22;
/** Rows drawn beyond the visible ones on each side, so a scroll step shows no blank rows. */
const OVERSCAN = 8;
const BINS = 24;

/** `table.addEventListener('cell-select', (e) => e.detail.index)`: a row was clicked. */
export interface CellSelectDetail {
  /** The row's index in `rows`. */
  readonly index: number;
  readonly row: CellTableRow;
}

/** 3 significant digits, or one decimal from 100 up (centroids, areas): a readable table, not the CSV. */
const formatValue = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v)
    ? '—'
    : Math.abs(v) >= 100
      ? v.toFixed(1)
      : Number(v.toPrecision(3)).toString();

/**
 * `<fewshot-cell-table>`: the cells of cellTable, one row each, virtualised (only the rows in
 * view are in the DOM, so 100 000 cells scroll as 30 do), sortable by any column (click its
 * header; again for descending), filtered by value ranges (any number of columns at once), with
 * a histogram of one measurement over the rows shown (a bar click filters to its range). A row
 * click selects it and emits `cell-select`; `select(index)` selects a row from outside (a cell
 * clicked in the viewer) and scrolls to it.
 */
export class CellTable extends LitElement {
  static override properties = { rows: { attribute: false } };

  declare rows: readonly CellTableRow[];

  private names: string[] = [];
  private columns: Float64Array[] = [];
  /** A measurement's column, or -1 for the Object ID (the rows' own order). */
  private sortBy = -1;
  private descending = false;
  private ranges = new Map<number, ValueRange>();
  private filterColumn = 0;
  private histogramColumn = 0;
  private shown: Uint32Array = new Uint32Array(0);
  /** Row → its position among the shown rows, -1 when filtered out. */
  private positions = new Int32Array(0);
  private selectedIndex = -1;
  private firstVisible = 0;
  private pendingScroll = false;

  constructor() {
    super();
    this.rows = [];
  }

  static override styles = css`
    :host {
      display: block;
      font-size: 12px;
      --cell-width: 5.6rem;
      --id-width: 3.6rem;
    }
    .bar {
      display: flex;
      flex-wrap: wrap;
      gap: 0.3rem;
      align-items: center;
      margin: 0.2rem 0;
    }
    select,
    input,
    button {
      font: inherit;
      background: #353a40;
      color: #eee;
      border: 1px solid #4a5058;
      border-radius: 4px;
    }
    input[type='number'] {
      width: 5rem;
    }
    .scroller {
      height: ${12 * ROW_HEIGHT + 26}px;
      overflow: auto;
      position: relative;
      border: 1px solid #3a3f45;
      background: #1d2024;
    }
    .tr {
      display: grid;
      grid-template-columns: var(--id-width) repeat(var(--columns), var(--cell-width));
      width: var(--table-width);
      height: ${ROW_HEIGHT}px;
      align-items: center;
      cursor: pointer;
    }
    .head {
      position: sticky;
      top: 0;
      z-index: 1;
      height: 26px;
      background: #2a2e33;
      cursor: default;
    }
    .head button {
      height: 100%;
      text-align: left;
      border: 0;
      border-right: 1px solid #3a3f45;
      border-radius: 0;
      background: none;
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
      padding: 0 0.25rem;
      cursor: pointer;
    }
    .body {
      position: relative;
      width: var(--table-width);
    }
    .body .tr {
      position: absolute;
      left: 0;
    }
    .tr span {
      padding: 0 0.25rem;
      font-variant-numeric: tabular-nums;
      text-align: right;
      white-space: nowrap;
      overflow: hidden;
    }
    .body .tr:nth-child(odd) {
      background: #22262a;
    }
    .body .tr[aria-selected='true'] {
      background: #0e5a66;
      color: #fff;
    }
    svg {
      display: block;
      width: 100%;
      height: 56px;
      background: #1d2024;
      border: 1px solid #3a3f45;
    }
    svg rect {
      fill: #4a8fd0;
      cursor: pointer;
    }
    svg line {
      stroke: #00e5ff;
      stroke-width: 2;
    }
    .muted {
      color: #9aa;
    }
  `;

  /** The selected row's index in `rows`, or -1. */
  get selected(): number {
    return this.selectedIndex;
  }

  /** The rows shown, in their order (indices into `rows`). */
  get shownRows(): Uint32Array {
    return this.shown;
  }

  /** Selects row `index` (-1: none) and, when it is shown, scrolls it into the middle of the table. */
  select(index: number): void {
    if (!(index >= -1 && index < this.rows.length)) throw new RangeError(`no row ${index} among ${this.rows.length}`);
    this.selectedIndex = index;
    this.pendingScroll = index >= 0;
    this.requestUpdate();
  }

  /** Sorts by a measurement (by name), or by Object ID with undefined. */
  sort(column: string | undefined, descending = false): void {
    const c = column === undefined ? -1 : this.names.indexOf(column);
    if (column !== undefined && c < 0) throw new RangeError(`no column ${column}`);
    this.sortBy = c;
    this.descending = descending;
    this.refresh();
  }

  /** Keeps the rows whose `column` lies in the range (inclusive; undefined: no filter on it). */
  filter(column: string, range: ValueRange | undefined): void {
    const c = this.names.indexOf(column);
    if (c < 0) throw new RangeError(`no column ${column}`);
    if (range && (range.min !== undefined || range.max !== undefined)) this.ranges.set(c, range);
    else this.ranges.delete(c);
    this.refresh();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('rows')) return;
    // Columns: every measurement name, in first-seen order (as the CSV's).
    const seen = new Map<string, number>();
    for (const row of this.rows)
      for (const name of Object.keys(row.measurements)) if (!seen.has(name)) seen.set(name, seen.size);
    this.names = [...seen.keys()];
    this.columns = this.names.map(() => new Float64Array(this.rows.length).fill(NaN));
    this.rows.forEach((row, r) => {
      for (const [name, value] of Object.entries(row.measurements)) this.columns[seen.get(name)!][r] = value;
    });
    const keep = (c: number) => (c >= 0 && c < this.names.length ? c : 0);
    this.filterColumn = keep(this.filterColumn);
    this.histogramColumn = keep(this.histogramColumn);
    if (this.sortBy >= this.names.length) this.sortBy = -1;
    this.ranges = new Map([...this.ranges].filter(([c]) => c < this.names.length));
    this.selectedIndex = -1;
    this.updateView();
  }

  protected override updated(): void {
    this.place();
    if (!this.pendingScroll) return;
    this.pendingScroll = false;
    const p = this.positions[this.selectedIndex];
    const scroller = this.renderRoot.querySelector<HTMLElement>('.scroller');
    if (p === undefined || p < 0 || !scroller) return;
    const head = this.renderRoot.querySelector<HTMLElement>('.head')?.offsetHeight ?? 0;
    const top = p * ROW_HEIGHT;
    const height = scroller.clientHeight - head;
    if (top < scroller.scrollTop || top + ROW_HEIGHT > scroller.scrollTop + height) {
      // Its scroll event renders the rows there.
      scroller.scrollTop = Math.max(0, top - height / 2);
    }
  }

  /**
   * Sizes and row places through the CSSOM, not style attributes, which a strict page's
   * Content-Security-Policy refuses (style-src without 'unsafe-inline'); Lit's styleMap also
   * writes the attribute on its first render.
   */
  private place(): void {
    const n = this.names.length;
    const scroller = this.renderRoot.querySelector<HTMLElement>('.scroller');
    const body = this.renderRoot.querySelector<HTMLElement>('.body');
    if (!scroller || !body) return;
    scroller.style.setProperty('--columns', String(n));
    scroller.style.setProperty('--table-width', `calc(var(--id-width) + ${n} * var(--cell-width))`);
    body.style.height = `${this.shown.length * ROW_HEIGHT}px`;
    for (const row of body.querySelectorAll<HTMLElement>('.tr'))
      row.style.top = `${Number(row.dataset.position) * ROW_HEIGHT}px`;
  }

  private refresh(): void {
    this.updateView();
    this.requestUpdate();
  }

  private updateView(): void {
    const rows = this.rows.length;
    let shown = tableView(this.columns, rows, {
      sortBy: this.sortBy >= 0 ? this.sortBy : undefined,
      descending: this.descending,
      ranges: this.ranges,
    });
    if (this.sortBy < 0 && this.descending) shown = shown.reverse();
    this.shown = shown;
    this.positions = new Int32Array(rows).fill(-1);
    shown.forEach((r, p) => (this.positions[r] = p));
  }

  private onScroll(scroller: HTMLElement): void {
    const first = Math.floor(scroller.scrollTop / ROW_HEIGHT);
    if (first !== this.firstVisible) {
      this.firstVisible = first;
      this.requestUpdate();
    }
  }

  private clickHeader(column: number): void {
    if (this.sortBy === column) this.descending = !this.descending;
    else {
      this.sortBy = column;
      this.descending = false;
    }
    this.refresh();
  }

  private clickRow(index: number): void {
    this.selectedIndex = index;
    this.requestUpdate();
    this.dispatchEvent(
      new CustomEvent<CellSelectDetail>('cell-select', {
        detail: { index, row: this.rows[index] },
        bubbles: true,
        composed: true,
      }),
    );
  }

  private setRange(which: 'min' | 'max', text: string): void {
    const c = this.filterColumn;
    const value = text.trim() === '' ? undefined : Number(text);
    const range = { ...this.ranges.get(c), [which]: value !== undefined && Number.isFinite(value) ? value : undefined };
    this.filter(this.names[c], range);
  }

  protected override render() {
    const total = this.rows.length;
    const shown = this.shown;
    const first = Math.max(0, this.firstVisible - OVERSCAN);
    const last = Math.min(shown.length, this.firstVisible + 12 + OVERSCAN);
    const sortMark = (c: number) => (this.sortBy === c ? (this.descending ? ' ▼' : ' ▲') : '');
    const ariaSort = (c: number) => (this.sortBy === c ? (this.descending ? 'descending' : 'ascending') : 'none');
    const range = this.ranges.get(this.filterColumn);
    const bound = (v: number | undefined) => (v !== undefined ? formatValue(v) : '…');
    const filters = [...this.ranges].map(([c, r]) => `${this.names[c]} ${bound(r.min)}–${bound(r.max)}`);
    const visible = [];
    for (let p = first; p < last; p++) {
      const r = shown[p];
      const row = this.rows[r];
      visible.push(
        html`<div
          class="tr"
          role="row"
          aria-rowindex=${p + 2}
          aria-selected=${r === this.selectedIndex}
          data-index=${r}
          data-position=${p}
          @click=${() => this.clickRow(r)}
        >
          <span role="gridcell">${row.id}</span>
          ${this.columns.map((values) => html`<span role="gridcell">${formatValue(values[r])}</span>`)}
        </div>`,
      );
    }
    return html`
      <div class="bar">
        <span id="cell-count">${shown.length === total ? `${total} cells` : `${shown.length} of ${total} cells`}</span>
        ${filters.length ? html`<span class="muted" id="filters">· ${filters.join('; ')}</span>` : nothing}
      </div>
      <div class="bar">
        <label
          >Filter
          <select
            id="filter-column"
            @change=${(e: Event) => {
              this.filterColumn = Number((e.target as HTMLSelectElement).value);
              this.requestUpdate();
            }}
          >
            ${this.names.map(
              (name, c) => html`<option value=${c} ?selected=${c === this.filterColumn}>${name}</option>`,
            )}
          </select></label
        >
        <input
          id="filter-min"
          type="number"
          step="any"
          placeholder="min"
          .value=${range?.min !== undefined ? String(range.min) : ''}
          @change=${(e: Event) => this.setRange('min', (e.target as HTMLInputElement).value)}
        />
        <input
          id="filter-max"
          type="number"
          step="any"
          placeholder="max"
          .value=${range?.max !== undefined ? String(range.max) : ''}
          @change=${(e: Event) => this.setRange('max', (e.target as HTMLInputElement).value)}
        />
        <button
          id="filter-clear"
          ?disabled=${this.ranges.size === 0}
          @click=${() => {
            this.ranges.clear();
            this.refresh();
          }}
        >
          Clear filters
        </button>
      </div>
      ${this.renderHistogram()}
      <div
        class="scroller"
        role="grid"
        aria-rowcount=${shown.length + 1}
        @scroll=${(e: Event) => this.onScroll(e.currentTarget as HTMLElement)}
      >
        <div class="tr head" role="row" aria-rowindex="1">
          <button role="columnheader" data-column="-1" aria-sort=${ariaSort(-1)} @click=${() => this.clickHeader(-1)}>
            ID${sortMark(-1)}
          </button>
          ${this.names.map(
            (name, c) =>
              html`<button
                role="columnheader"
                data-column=${c}
                title=${name}
                aria-sort=${ariaSort(c)}
                @click=${() => this.clickHeader(c)}
              >
                ${name}${sortMark(c)}
              </button>`,
          )}
        </div>
        <div class="body">${visible}</div>
      </div>
    `;
  }

  /** The chosen measurement's histogram over the rows shown; the selected cell's value as a line. */
  private renderHistogram() {
    if (this.names.length === 0) return nothing;
    const c = this.histogramColumn;
    const values = this.columns[c];
    const h = histogram(values, BINS, this.shown);
    const peak = Math.max(1, ...h.counts);
    const width = (h.max - h.min) / BINS;
    const selected = this.selectedIndex >= 0 ? values[this.selectedIndex] : NaN;
    const at = (v: number) => (width > 0 ? ((v - h.min) / (h.max - h.min)) * BINS : 0.5);
    return html`
      <div class="bar">
        <label
          >Histogram
          <select
            id="histogram-column"
            @change=${(e: Event) => {
              this.histogramColumn = Number((e.target as HTMLSelectElement).value);
              this.requestUpdate();
            }}
          >
            ${this.names.map((name, k) => html`<option value=${k} ?selected=${k === c}>${name}</option>`)}
          </select></label
        >
        <span class="muted" id="histogram-range">${formatValue(h.min)} – ${formatValue(h.max)}</span>
      </div>
      <svg id="histogram" viewBox="0 0 ${BINS} 1" preserveAspectRatio="none" role="img" aria-label=${this.names[c]}>
        ${[...h.counts].map((count, b) => {
          const lo = h.min + b * width;
          const hi = b === BINS - 1 ? h.max : lo + width;
          return svg`<rect x=${b + 0.05} width="0.9" y=${1 - count / peak} height=${count / peak}
            data-bin=${b} @click=${() => this.filter(this.names[c], { min: lo, max: hi })}>
            <title>${formatValue(lo)} – ${formatValue(hi)}: ${count} cells</title></rect>`;
        })}
        ${
          Number.isFinite(selected)
            ? svg`<line x1=${at(selected)} x2=${at(selected)} y1="0" y2="1" vector-effect="non-scaling-stroke" />`
            : nothing
        }
      </svg>
    `;
  }
}

if (!customElements.get('fewshot-cell-table')) customElements.define('fewshot-cell-table', CellTable);

declare global {
  interface HTMLElementTagNameMap {
    'fewshot-cell-table': CellTable;
  }
}
