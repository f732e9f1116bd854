import { html, nothing, type TemplateResult } from 'lit';
import type { AdaptOutcome } from '../../core/session/session.js';
import type { FewShot } from '../attach-fewshot.js';

/**
 * The annotation loop as the panel shows it (issue 14, item 5): suggest → accept → correct →
 * adapt, with what tells the user where they are — how many shots (support patches) there are,
 * the head's Dice on its own support patches after each adapt, and the suggestion box's state
 * with its two actions (the keys S and Y do the same).
 *
 * The Dice is the *training-set* Dice (core/adaptation/training-dice.ts): the labelled support
 * pixels at the head's threshold against their labels, counted by the fit over the rows it
 * already holds. It says whether the head can still separate what was painted (a drop after a
 * round: the new patch contradicts the others, or the class is not linear in these features),
 * not how good the head is elsewhere; the label says so.
 */

/** One adapt of the loop: what it was fitted to and its training-set Dice. */
export interface LoopRound {
  readonly shots: number;
  readonly dice: number;
  readonly threshold: number;
}

export const loopRound = (outcome: AdaptOutcome): LoopRound => ({
  shots: outcome.report.support.patches,
  dice: outcome.report.trainingDice.dice,
  threshold: outcome.report.trainingDice.threshold,
});

/** At most this many rounds are listed (the latest): a long session would wrap the line. */
const SHOWN_ROUNDS = 6;

const DICE_TITLE =
  "The head's Dice on its own support patches (the pixels it was fitted to) at its threshold, after each " +
  'adapt: whether it can separate what you painted, not how well it does elsewhere';

export function renderAnnotationLoop(
  h: FewShot,
  rounds: readonly LoopRound[],
  actions: { readonly suggest: () => void; readonly accept: () => void },
): TemplateResult {
  const shots = h.support.patches.length;
  const shown = rounds.slice(-SHOWN_ROUNDS);
  const first = rounds.length - shown.length;
  const current = h.suggestion.current;
  return html`
    <div class="row" id="annotation-loop">
      <span id="shots"><b>${shots}</b> shot${shots === 1 ? '' : 's'}</span>
      ${
        shown.length
          ? html`<span id="support-dice" title=${DICE_TITLE}
              >· training-set Dice after each adapt:
              ${shown.map(
                (r, i) =>
                  html`<span class="round" data-round=${first + i + 1} data-dice=${r.dice.toFixed(4)}
                    >${i ? ' → ' : ''}${r.dice.toFixed(2)}<span class="muted"> (${r.shots})</span></span
                  >`,
              )}</span
            >`
          : html`<span class="muted">· adapt to see the head's Dice on these patches</span>`
      }
    </div>
    <div class="row">
      <button
        id="suggest"
        ?disabled=${!h.head}
        title="Show where to annotate next; again: skip to the next (S)"
        @click=${actions.suggest}
      >
        ${current ? 'Skip (S)' : 'Suggest next (S)'}
      </button>
      <button
        id="accept-suggestion"
        ?disabled=${!current}
        title="Place the suggested patch, pre-filled (Y)"
        @click=${actions.accept}
      >
        Accept (Y)
      </button>
      ${
        current
          ? html`<span class="muted" id="suggestion"
              >dashed box at ${Math.round(current.level0.x)}, ${Math.round(current.level0.y)} (score
              ${current.score.toFixed(3)})</span
            >`
          : nothing
      }
    </div>
  `;
}
