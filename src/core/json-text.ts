import { inputError, type ErrorCode } from './errors.js';

/**
 * Parse JSON read from `file`; a syntax error becomes one `file:line: (json): …` line, exit 2.
 */
export function parseJsonText(text: string, file: string, code: ErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw inputError(code, file, jsonErrorLine(text), '(json)', `not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The one JSON-text scanner: walks `text` as JSON, calling `onValue(path, line)` for every value
 * down to `maxDepth` (paths like `requests[3].context_tokens`, 1-based lines), and throws the
 * 1-based line of the first syntax error as a number.
 */
function scanJson(text: string, onValue?: (path: string, line: number) => void, maxDepth = Infinity): void {
  let i = 0;
  let line = 1;
  const fail = (): never => {
    throw line;
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) break;
      i++;
    }
  };
  const str = (): string => {
    if (text[i] !== '"') fail();
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
    return onValue ? (JSON.parse(text.slice(start, i)) as string) : '';
  };
  const value = (path: string, depth: number): void => {
    ws();
    if (onValue && depth <= maxDepth) onValue(path, line);
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        let child = `${path}[${index}]`;
        if (c === '{') {
          ws();
          const key = str();
          child = path ? `${path}.${key}` : key;
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value(child, depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] !== close) fail();
        i++;
        return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) fail();
    i += m![0].length;
  };
  value('', 0);
  ws();
  if (i < text.length) fail();
}

/** 1-based line of the first JSON syntax error (Node's message does not always carry a position). */
export function jsonErrorLine(text: string): number {
  try {
    scanJson(text);
  } catch (line) {
    if (typeof line === 'number') return line;
    throw line;
  }
  return text.split('\n').length;
}

/** Line of every value of a valid JSON text down to `maxDepth`, keyed by path, so a field error can name its line. */
export function jsonValueLines(text: string, maxDepth = 3): Map<string, number> {
  const lines = new Map<string, number>();
  scanJson(text, (path, line) => lines.set(path, line), maxDepth);
  return lines;
}
