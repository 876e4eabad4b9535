/**
 * One pass over a stream event's data, allocating nothing: is it a JSON object,
 * and how many UTF-8 bytes of generated text does it carry (the string values of
 * `content`, `text`, `arguments`, `refusal`, `reasoning`, `reasoning_content`)?
 * The relay runs it on every event, so it must cost less than the event's copy.
 *
 * "A JSON object" is checked structurally: it opens with `{`, braces and brackets
 * nest and close, strings terminate (text values hold no raw control characters),
 * and nothing but whitespace follows the closing brace. Literals, numbers and commas
 * are not checked: parsing every event would build an object tree per chunk. This
 * catches what breaks streams in practice (a line cut off mid-object, an HTML or
 * plain-text line, a stray fragment), which is what the openai client would
 * otherwise choke on.
 */

/** Deeper than any chunk a provider streams (tool arguments travel as strings). */
const MAX_DEPTH = 64;
const isArray = new Uint8Array(MAX_DEPTH);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether the key spelled by data[start, end) names generated text. */
function isTextKey(data: string, start: number, end: number): boolean {
  switch (end - start) {
    case 4:
      return data.startsWith('text', start);
    case 7:
      return data.startsWith('content', start) || data.startsWith('refusal', start);
    case 9:
      return data.startsWith('arguments', start) || data.startsWith('reasoning', start);
    case 17:
      return data.startsWith('reasoning_content', start);
    default:
      return false;
  }
}

/** Index of the quote closing a string that starts at `start`, or -1. */
function closingQuote(data: string, start: number): number {
  for (let q = data.indexOf('"', start); q !== -1; q = data.indexOf('"', q + 1)) {
    let slashes = 0;
    while (data.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
  }
  return -1;
}

/** UTF-8 bytes of generated text in the event, or -1 when the data is not a JSON object. */
export function scanEvent(data: string): number {
  const n = data.length;
  let i = 0;
  while (i < n && isSpace(data.charCodeAt(i))) i++;
  if (data.charCodeAt(i) !== 0x7b /* { */) return -1;
  let depth = 0;
  let bytes = 0;
  let expectKey = false;
  let textValue = false;
  for (; i < n; i++) {
    const c = data.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      if (!textValue || expectKey) {
        // Keys and other values: only where they end matters, found natively.
        i = closingQuote(data, start);
        if (i < 0) return -1;
        if (expectKey) textValue = isTextKey(data, start, i);
        expectKey = false;
        continue;
      }
      let size = 0;
      for (i = start; i < n; i++) {
        const d = data.charCodeAt(i);
        if (d === QUOTE) break;
        if (d === BACKSLASH) {
          // \uXXXX is one UTF-16 unit (1 to 3 bytes: count 2); other escapes one byte.
          if (data.charCodeAt(i + 1) === 0x75 /* u */) {
            i += 5;
            size += 2;
          } else {
            i += 1;
            size += 1;
          }
          continue;
        }
        if (d < 0x20) return -1;
        // A surrogate is half of a 4-byte character.
        size += d < 0x80 ? 1 : d < 0x800 || (d >= 0xd800 && d <= 0xdfff) ? 2 : 3;
      }
      if (i >= n) return -1;
      bytes += size;
      textValue = false;
      continue;
    }
    switch (c) {
      case 0x7b /* { */:
      case 0x5b /* [ */:
        if (depth === MAX_DEPTH) return -1;
        isArray[depth++] = c === 0x5b ? 1 : 0;
        expectKey = c === 0x7b;
        textValue = false;
        break;
      case 0x7d /* } */:
      case 0x5d /* ] */:
        if (depth === 0 || isArray[depth - 1] !== (c === 0x5d ? 1 : 0)) return -1;
        depth--;
        expectKey = false;
        textValue = false;
        if (depth === 0) {
          for (i++; i < n; i++) if (!isSpace(data.charCodeAt(i))) return -1;
          return bytes;
        }
        break;
      case 0x2c /* , */:
        expectKey = isArray[depth - 1] === 0;
        textValue = false;
        break;
      case 0x3a /* : */:
        break;
      default:
        // A literal or number: a text key holding null (or a number) counts nothing.
        if (!isSpace(c)) textValue = false;
    }
  }
  return -1;
}
