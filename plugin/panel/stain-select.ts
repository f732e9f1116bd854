import { html, type TemplateResult } from 'lit';
import type { StainMethod } from '../../core/stain/stain-stats.js';

/** The panel's choice of input stain normalisation (attachFewShot's `stain`), with what each does. */
export const STAINS: readonly { stain: StainMethod; label: string; title: string }[] = [
  { stain: 'none', label: 'None', title: 'the slide as it is' },
  {
    stain: 'reinhard',
    label: 'Reinhard',
    title: "each CIELAB channel's tissue mean and spread moved to the extractors' training stain",
  },
  {
    stain: 'macenko',
    label: 'Macenko',
    title: "the slide's haematoxylin and eosin vectors and concentrations mapped to the training stain's",
  },
];

/**
 * `<select id="stain">`: `onChange` gets the method picked. Disabled (with why) when the panel was
 * given a handle: only the code that attached it can attach it again with another stain.
 */
export function stainSelect(
  current: StainMethod,
  onChange: ((stain: StainMethod) => void) | undefined,
): TemplateResult {
  return html`<label
    >Stain
    <select
      id="stain"
      ?disabled=${!onChange}
      title=${
        onChange
          ? "Input stain normalisation to the extractors' training stain; changing it restarts with the same " +
            'support patches, and needs Adapt again'
          : 'Input stain normalisation: set by the page that attached the handle (option stain)'
      }
      @change=${(e: Event) => onChange?.((e.target as HTMLSelectElement).value as StainMethod)}
    >
      ${STAINS.map(
        (s) => html`<option value=${s.stain} title=${s.title} ?selected=${current === s.stain}>${s.label}</option>`,
      )}
    </select></label
  >`;
}
