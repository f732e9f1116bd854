import { expect } from 'chai';
import { sendKeys, sendMouse } from '@web/test-runner-commands';
import type { CellTableRow } from '../../../core/session/session.js';
import '../../../plugin/panel/cell-table.js';
import type { CellSelectDetail, CellTable } from '../../../plugin/panel/cell-table.js';

// The cell table in Chromium, driven by real mouse and keyboard events (Playwright through
// web-test-runner): 100 000 rows, sorted by a header click, filtered by typed ranges and by a
// histogram bar, a row click emitting cell-select, select() scrolling to a row.
const N = 100_000;
const AREA = 'Mask area µm^2';
const CIRC = 'Circularity';
const area = (i: number) => ((i * 7919) % 1000) / 10 + 5;
const circularity = (i: number) => ((i * 104729) % 997) / 997;
const rows: CellTableRow[] = Array.from({ length: N }, (_, i) => {
  const x = (i % 300) * 20;
  const y = Math.floor(i / 300) * 20;
  return {
    id: String(i + 1),
    className: 'N',
    measurements: { [AREA]: area(i), [CIRC]: circularity(i) },
    outline: Float64Array.from([x, y, x + 10, y, x + 10, y + 10, x, y + 10]),
  };
});

/** The page point to click an element at (after scrolling it into view). */
function middle(element: Element): [number, number] {
  element.scrollIntoView({ block: 'center' });
  const r = element.getBoundingClientRect();
  // Near its left end: a row is wider than the table's scroller (which scrolls sideways).
  return [Math.round(r.left + Math.min(r.width / 2, 20)), Math.round(r.top + r.height / 2)];
}

async function click(element: Element): Promise<void> {
  await sendMouse({ type: 'click', position: middle(element) });
}

/** Resolves after the table has rendered what its last scroll showed. */
async function scrolled(table: CellTable, scroller: HTMLElement, top: number): Promise<void> {
  const done = new Promise((resolve) => scroller.addEventListener('scroll', resolve, { once: true }));
  scroller.scrollTop = top;
  await done;
  await table.updateComplete;
}

const idsInDom = (table: CellTable) =>
  [...table.shadowRoot!.querySelectorAll<HTMLElement>('.body .tr')]
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
    .map((r) => Number(r.dataset.index));

describe('<fewshot-cell-table> with real pointer events', () => {
  let table: CellTable;
  let root: ShadowRoot;

  before(async () => {
    // As a strict page: style attributes refused (the table positions its rows through the CSSOM).
    const policy = document.createElement('meta');
    policy.httpEquiv = 'Content-Security-Policy';
    policy.content = "style-src-attr 'none'";
    document.head.append(policy);
    table = document.createElement('fewshot-cell-table');
    table.style.width = '480px';
    table.rows = rows;
    document.body.append(table);
    await table.updateComplete;
    root = table.shadowRoot!;
  });

  after(() => table.remove());

  it('renders 100 000 rows as the few in view, and the last ones after scrolling to the end', async () => {
    expect(root.querySelector('#cell-count')!.textContent).to.equal('100000 cells');
    const inDom = idsInDom(table);
    expect(inDom.length).to.be.within(10, 40);
    expect(inDom.slice(0, 3)).to.deep.equal([0, 1, 2]);
    const tops = [...root.querySelectorAll<HTMLElement>('.body .tr')].map((r) => r.getBoundingClientRect().top);
    expect(new Set(tops).size).to.equal(tops.length, 'every row at a place of its own');
    const scroller = root.querySelector<HTMLElement>('.scroller')!;
    await scrolled(table, scroller, scroller.scrollHeight);
    expect(idsInDom(table).at(-1)).to.equal(N - 1);
    expect(root.querySelectorAll('.body .tr').length).to.be.below(40);
    await scrolled(table, scroller, 0);
  });

  it('sorts by a column on a header click, descending on a second click', async () => {
    const header = root.querySelector(`[role=columnheader][title="${AREA}"]`)!;
    await click(header);
    await table.updateComplete;
    // Reference: stable sort of the indices by area.
    const ascending = Array.from({ length: N }, (_, i) => i).sort((a, b) => area(a) - area(b) || a - b);
    expect([...table.shownRows.subarray(0, 50)]).to.deep.equal(ascending.slice(0, 50));
    expect(idsInDom(table).slice(0, 10)).to.deep.equal(ascending.slice(0, 10));
    expect(header.getAttribute('aria-sort')).to.equal('ascending');
    await click(header);
    await table.updateComplete;
    const descending = Array.from({ length: N }, (_, i) => i).sort((a, b) => area(b) - area(a) || a - b);
    expect(idsInDom(table).slice(0, 10)).to.deep.equal(descending.slice(0, 10));
    expect(header.getAttribute('aria-sort')).to.equal('descending');
  });

  it('filters by typed ranges on two columns; the histogram counts the rows shown', async () => {
    const select = root.querySelector<HTMLSelectElement>('#filter-column')!;
    const type = async (input: HTMLInputElement, text: string) => {
      await click(input);
      await sendKeys({ type: text });
      await sendKeys({ press: 'Enter' });
      input.blur();
      await table.updateComplete;
    };
    await type(root.querySelector<HTMLInputElement>('#filter-min')!, '20');
    await type(root.querySelector<HTMLInputElement>('#filter-max')!, '40.5');
    select.value = '1';
    select.dispatchEvent(new Event('change'));
    await table.updateComplete;
    await type(root.querySelector<HTMLInputElement>('#filter-min')!, '0.5');
    const kept = (i: number) => area(i) >= 20 && area(i) <= 40.5 && circularity(i) >= 0.5;
    const expected = Array.from({ length: N }, (_, i) => i).filter(kept);
    expect(expected.length).to.be.within(5000, 15000);
    expect(root.querySelector('#cell-count')!.textContent).to.equal(`${expected.length} of ${N} cells`);
    expect([...table.shownRows].sort((a, b) => a - b)).to.deep.equal(expected);
    expect(idsInDom(table).every((i) => kept(i))).to.equal(true);
    const bars = [...root.querySelectorAll<SVGRectElement>('#histogram rect')];
    const heights = bars.map((b) => Number(b.getAttribute('height')));
    expect(Math.max(...heights)).to.equal(1);
    const counts = bars.map((b) => Number(/: (\d+) cells$/.exec(b.querySelector('title')!.textContent!)![1]));
    expect(counts.reduce((s, c) => s + c, 0)).to.equal(expected.length);

    await click(root.querySelector('#filter-clear')!);
    await table.updateComplete;
    expect(root.querySelector('#cell-count')!.textContent).to.equal(`${N} cells`);
  });

  it('filters to a histogram bar’s range on a click', async () => {
    const histogramColumn = root.querySelector<HTMLSelectElement>('#histogram-column')!;
    histogramColumn.value = '0';
    histogramColumn.dispatchEvent(new Event('change'));
    await table.updateComplete;
    const bar = root.querySelector<SVGRectElement>('#histogram rect[data-bin="3"]')!;
    const count = Number(/: (\d+) cells$/.exec(bar.querySelector('title')!.textContent!)![1]);
    expect(count).to.be.above(0);
    await click(bar);
    await table.updateComplete;
    // The bar's rows, and those on its upper edge (an inclusive range): all areas in [min, max].
    const shown = [...table.shownRows];
    const areas = shown.map(area);
    expect(shown.length).to.be.within(count, count + 200);
    expect(Math.max(...areas) - Math.min(...areas)).to.be.below((105 - 5) / 24 + 1e-9);
    await click(root.querySelector('#filter-clear')!);
    await table.updateComplete;
  });

  it('a row click emits cell-select; select() from outside scrolls its row into view', async () => {
    const selected = new Promise<CellSelectDetail>((resolve) =>
      table.addEventListener('cell-select', (e) => resolve((e as CustomEvent<CellSelectDetail>).detail), {
        once: true,
      }),
    );
    const row = root.querySelectorAll<HTMLElement>('.body .tr')[2];
    const index = Number(row.dataset.index);
    await click(row);
    const detail = await selected;
    expect(detail.index).to.equal(index);
    expect(detail.row).to.equal(rows[index]);
    await table.updateComplete;
    expect(root.querySelector(`.tr[data-index="${index}"]`)!.getAttribute('aria-selected')).to.equal('true');

    const far = 77_777;
    const scroller = root.querySelector<HTMLElement>('.scroller')!;
    const moved = new Promise((resolve) => scroller.addEventListener('scroll', resolve, { once: true }));
    table.select(far);
    await table.updateComplete;
    await moved;
    await table.updateComplete;
    const farRow = root.querySelector<HTMLElement>(`.tr[data-index="${far}"]`)!;
    expect(farRow.getAttribute('aria-selected')).to.equal('true');
    const box = farRow.getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    expect(box.top >= view.top && box.bottom <= view.bottom).to.equal(true);
  });
});
