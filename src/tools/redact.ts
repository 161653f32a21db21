export const REDACTED = '[REDACTED]';

/** Replaces every known secret value in text, longest first (so a value inside another is covered). */
export class Redactor {
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    this.values = [...new Set(values)].filter((v) => v !== '').sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }
}
