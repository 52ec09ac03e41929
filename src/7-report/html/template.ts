// An auto-escaping template tag: every interpolation is escaped unless it is already a fragment this tag
// (or `trusted`) made, so markup from a report's text can never reach the page unescaped.

/** Markup that is safe to write as it is: made by `html`, or declared trusted by `trusted`. */
export class SafeHtml {
  readonly #markup: string;
  constructor(markup: string) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

/** What may appear inside `${}`: text and numbers are escaped; nothing (undefined, null, false) writes nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function write(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(write).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, i) => {
    markup += write(value) + strings[i + 1]!;
  });
  return new SafeHtml(markup);
}

/** For markup that does not come from a report: inlined assets the page ships, checked where they are read. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Fragments joined by a separator that is itself markup (`<br>`, a newline). */
export function join(values: readonly HtmlValue[], separator: SafeHtml | string): SafeHtml {
  const glue = separator instanceof SafeHtml ? separator.toString() : escapeHtml(separator);
  return new SafeHtml(values.map(write).join(glue));
}
