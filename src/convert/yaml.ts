/**
 * The YAML subset that upstream's all_config.yaml uses (OmegaConf dumps):
 * block mappings and sequences, nested mappings inside sequence items,
 * plain/quoted scalars and simple flow collections. Anchors, tags and
 * multi-line scalars are refused rather than misread.
 */
import { ConfigError } from './errors.ts';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [k: string]: YamlValue };

interface Line { indent: number; text: string; no: number }

export function parseYaml(src: string, where = 'yaml'): YamlValue {
  const lines: Line[] = [];
  src.split(/\r?\n/).forEach((raw, i) => {
    const text = stripComment(raw).trimEnd();
    if (!text.trim() || text.trim() === '---') return;
    if (/^\s*\t/.test(raw)) throw new ConfigError(`${where}:${i + 1}: tab indentation is not valid YAML`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trimStart(), no: i + 1 });
  });
  if (!lines.length) return null;
  let pos = 0;
  const fail = (l: Line, msg: string): never => { throw new ConfigError(`${where}:${l.no}: ${msg}`); };

  const isSeq = (l: Line) => l.text === '-' || l.text.startsWith('- ');

  function block(indent: number): YamlValue {
    const first = lines[pos];
    return isSeq(first) ? seq(indent) : map(indent);
  }

  function nested(parentIndent: number, allowSameIndentSeq: boolean): YamlValue {
    const next = lines[pos];
    if (!next) return null;
    if (next.indent > parentIndent) return block(next.indent);
    if (allowSameIndentSeq && next.indent === parentIndent && isSeq(next)) return seq(parentIndent);
    return null;
  }

  function map(indent: number): YamlValue {
    const out: Record<string, YamlValue> = {};
    while (pos < lines.length && lines[pos].indent === indent && !isSeq(lines[pos])) {
      const l = lines[pos++];
      const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+?)\s*:(?:\s+(.*)|$)/.exec(l.text);
      if (!m) fail(l, `expected "key: value", got "${l.text}"`);
      const key = String(scalar(m![1], l));
      if (key in out) fail(l, `duplicate key "${key}"`);
      out[key] = m![2] !== undefined && m![2] !== '' ? value(m![2], l) : nested(indent, true);
    }
    if (pos < lines.length && lines[pos].indent > indent) fail(lines[pos], 'unexpected indentation');
    return out;
  }

  function seq(indent: number): YamlValue {
    const out: YamlValue[] = [];
    while (pos < lines.length && lines[pos].indent === indent && isSeq(lines[pos])) {
      const l = lines[pos];
      const rest = l.text.slice(1).trimStart();
      if (!rest) { pos++; out.push(nested(indent, false)); continue; }
      if (/^[^'"[{][^:]*:(\s|$)/.test(rest)) {
        // "- key: value" opens a mapping whose keys sit at the column after "- ".
        const inner = indent + (l.text.length - rest.length);
        lines[pos] = { indent: inner, text: rest, no: l.no };
        out.push(map(inner));
      } else { pos++; out.push(value(rest, l)); }
    }
    return out;
  }

  function value(text: string, l: Line): YamlValue {
    if (/^[&*!|>]/.test(text)) fail(l, `unsupported YAML feature in "${text}" (anchors, tags, block scalars)`);
    if (text.startsWith('[') || text.startsWith('{')) return flow(text, l);
    return scalar(text, l);
  }

  function flow(text: string, l: Line): YamlValue {
    const open = text[0], close = open === '[' ? ']' : '}';
    if (!text.endsWith(close)) fail(l, `unterminated flow collection "${text}"`);
    const body = text.slice(1, -1).trim();
    const items = body ? splitTop(body) : [];
    if (open === '[') return items.map((s) => value(s.trim(), l));
    const out: Record<string, YamlValue> = {};
    for (const it of items) {
      const i = it.indexOf(':');
      if (i < 0) fail(l, `expected "key: value" in "${it}"`);
      out[String(scalar(it.slice(0, i).trim(), l))] = value(it.slice(i + 1).trim(), l);
    }
    return out;
  }

  const out = block(lines[0].indent);
  if (pos < lines.length) fail(lines[pos], 'unexpected content');
  return out;
}

function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0, q = '', start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) { if (c === q) q = ''; continue; }
    if (c === '"' || c === "'") q = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) { parts.push(s.slice(start, i)); start = i + 1; }
  }
  parts.push(s.slice(start));
  return parts;
}

function stripComment(line: string): string {
  let q = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) { if (c === q) q = ''; continue; }
    if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function scalar(t: string, l: Line): YamlValue {
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) throw new ConfigError(`line ${l.no}: unterminated string ${t}`);
    return JSON.parse(t);
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) throw new ConfigError(`line ${l.no}: unterminated string ${t}`);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t === '~' || t === 'null' || t === 'Null' || t === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(t)) return Number(t.replace(/_/g, ''));
  if (/^[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$/.test(t) && /\d/.test(t)) return Number(t.replace(/_/g, ''));
  if (/^[-+]?\.(inf|Inf|INF)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(t)) return NaN;
  return t;
}

/** Block-style YAML for plain data (used by synth to write all_config.yaml). */
export function toYaml(v: YamlValue, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return '\n' + v.map((x) => `${pad}- ${typeof x === 'object' && x !== null ? toYaml(x, indent + 2).trimStart() : fmt(x)}`).join('\n');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return '{}';
    return keys.map((k) => {
      const x = v[k];
      if (Array.isArray(x)) return `${pad}${k}:${x.length ? toYaml(x, indent) : ' []'}`;
      if (x && typeof x === 'object') return `${pad}${k}:\n${toYaml(x, indent + 2)}`;
      return `${pad}${k}: ${fmt(x)}`;
    }).join('\n') + (indent === 0 ? '\n' : '');
  }
  return fmt(v);
}

function fmt(x: YamlValue): string {
  if (typeof x === 'string') return /^[\w./@-]+$/.test(x) && !/^(true|false|null|~|[-+.\d].*)$/i.test(x) ? x : JSON.stringify(x);
  return String(x);
}
