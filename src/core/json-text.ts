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

/** 1-based line of the first JSON syntax error (Node's message does not always carry a position). */
export function jsonErrorLine(text: string): number {
  let i = 0;
  const lineAt = (k: number): number => text.slice(0, k).split('\n').length;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw lineAt(i);
  };
  const str = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
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
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (line) {
    if (typeof line === 'number') return line;
    throw line;
  }
  return lineAt(text.length);
}
