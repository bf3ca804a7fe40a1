/**
 * Content negotiation for the one question GET /graphql has to answer: is this a
 * browser asking for a page, or a client asking for a GraphQL response?
 */

const JSON_TYPES = ['application/graphql-response+json', 'application/json'];

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [mediaType = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const [type, subtype] = mediaType.split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((s) => s.trim());
      if (name === 'q' && value !== undefined) {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The q of the most specific range matching `mediaType` (RFC 9110 §12.5.1), and whether it named it exactly. */
function quality(ranges: MediaRange[], mediaType: string): { q: number; explicit: boolean } {
  const [type, subtype] = mediaType.split('/');
  let best: { q: number; specificity: number } = { q: 0, specificity: -1 };
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === '*'
          ? 1
          : range.type === '*' && range.subtype === '*'
            ? 0
            : -1;
    if (specificity > best.specificity) best = { q: range.q, specificity };
  }
  return { q: best.q, explicit: best.specificity === 2 };
}

/**
 * True when an Accept header names `text/html` explicitly and ranks it at least as
 * high as any JSON response type. Browsers send `text/html,…,*\/*;q=0.8`; GraphQL
 * clients send JSON types; `curl`'s bare `*\/*` prefers nothing, so it gets JSON.
 */
export function prefersHtml(acceptHeader: string | undefined): boolean {
  if (!acceptHeader) return false;
  const ranges = parseAccept(acceptHeader);
  const html = quality(ranges, 'text/html');
  if (!html.explicit || html.q === 0) return false;
  const json = Math.max(...JSON_TYPES.map((t) => quality(ranges, t).q));
  return html.q >= json;
}
