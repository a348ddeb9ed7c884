// The event search syntax, the same grammar as the master's (master/src/search):
//
//   decky:NAME  service:NAME  event:TYPE (event_type:)  host:NAME  session:SID (session_id:)
//                                   equality on the event's own columns
//   attacker:IP | attacker:CIDR (src_ip:)   the source address
//   any other key:value             the field `key` equals `value`
//   a bare word                     a case-insensitive substring of the message or the fields
//
// All terms must match. A value or a bare word may be double-quoted (`k:"a b"`,
// `"two words"`); inside quotes `\"` is a quote and `\\` a backslash, any other
// backslash is literal. A term splits at its first `:`. At most 512 characters.
// The client parses queries to validate them before sending and to filter the
// live stream exactly as the server filters stored events.

import type { DecnetEvent } from '../api/types';

export const MAX_SEARCH_LENGTH = 512;
const MAX_FIELD_NAME_LEN = 32;

export type ColumnKey = 'decky' | 'service' | 'event' | 'host' | 'session';

export type Term =
  | { kind: 'column'; column: ColumnKey; value: string }
  | { kind: 'attacker'; value: string; net: IpNet }
  | { kind: 'field'; key: string; value: string }
  | { kind: 'word'; word: string };

export interface IpNet {
  v: 4 | 6;
  addr: bigint;
  prefix: number;
}

export class SearchSyntaxError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.name = 'SearchSyntaxError';
    this.at = at;
  }
}

const COLUMN_ALIASES: Record<string, ColumnKey> = {
  decky: 'decky',
  service: 'service',
  event: 'event',
  event_type: 'event',
  host: 'host',
  session: 'session',
  session_id: 'session',
};
const ATTACKER_KEYS = new Set(['attacker', 'src_ip']);

/** Whether `key` can name an event field (printable ASCII without `=`, `]`, `"`; ≤ 32). */
export function isFieldName(key: string): boolean {
  if (key.length === 0 || key.length > MAX_FIELD_NAME_LEN) return false;
  for (let i = 0; i < key.length; i++) {
    const b = key.charCodeAt(i);
    if (b < 33 || b > 126 || b === 61 /* = */ || b === 93 /* ] */ || b === 34 /* " */) return false;
  }
  return true;
}

// --- IP addresses -------------------------------------------------------------

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseIpv6(text: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): string[] | null => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  const words: number[] = [];
  const push = (list: string[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i] ?? '';
      if (allowV4Last && i === list.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return false;
        words.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false;
        words.push(parseInt(g, 16));
      }
    }
    return true;
  };
  if (!push(head, halves.length === 1)) return null;
  const headLen = words.length;
  if (!push(tail, true)) return null;
  if (halves.length === 2) {
    const missing = 8 - words.length;
    if (missing < 1) return null;
    words.splice(headLen, 0, ...new Array<number>(missing).fill(0));
  }
  if (words.length !== 8) return null;
  return words.reduce((n, w) => (n << 16n) | BigInt(w), 0n);
}

/** Parses an address (`IP`) or a block (`IP/LEN`), as the server does. */
export function parseIpNet(text: string): IpNet | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIpv4(addrText);
  const v6 = v4 === null ? parseIpv6(addrText) : null;
  if (v4 === null && v6 === null) return null;
  const v: 4 | 6 = v4 !== null ? 4 : 6;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len)) return null;
    prefix = Number(len);
    if (prefix > max) return null;
  }
  return { v, addr: (v4 ?? v6) as bigint, prefix };
}

function contains(net: IpNet, ip: string): boolean {
  const addr = parseIpNet(ip);
  if (!addr || addr.prefix !== (addr.v === 4 ? 32 : 128)) return false;
  let candidate = addr;
  // An IPv4-mapped IPv6 address matches IPv4 blocks.
  if (net.v === 4 && addr.v === 6 && addr.addr >> 32n === 0xffffn) {
    candidate = { v: 4, addr: addr.addr & 0xffffffffn, prefix: 32 };
  }
  if (candidate.v !== net.v) return false;
  const bits = BigInt((net.v === 4 ? 32 : 128) - net.prefix);
  return candidate.addr >> bits === net.addr >> bits;
}

// --- parsing -------------------------------------------------------------------

/** Parses a query into terms; throws SearchSyntaxError with the position of the problem. */
export function parseSearch(input: string): Term[] {
  const chars = Array.from(input);
  if (chars.length > MAX_SEARCH_LENGTH) {
    throw new SearchSyntaxError(`the search is longer than ${MAX_SEARCH_LENGTH} characters`, MAX_SEARCH_LENGTH);
  }
  const nul = chars.indexOf('\0');
  if (nul >= 0) throw new SearchSyntaxError('the search contains a NUL character', nul);
  let pos = 0;
  const peek = () => chars[pos];
  const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c);

  const unquoted = (stopAtColon: boolean): string => {
    let out = '';
    for (let c = peek(); c !== undefined; c = peek()) {
      if (isSpace(c) || (stopAtColon && c === ':')) break;
      if (c === '"') throw new SearchSyntaxError(`unexpected quote at ${pos + 1}: quote the whole value`, pos);
      out += c;
      pos++;
    }
    return out;
  };

  const quoted = (): string => {
    const open = pos;
    pos++;
    let out = '';
    for (;;) {
      const c = peek();
      if (c === undefined) throw new SearchSyntaxError(`unclosed quote at ${open + 1}`, open);
      if (c === '"') {
        pos++;
        break;
      }
      const next = chars[pos + 1];
      if (c === '\\' && (next === '"' || next === '\\')) {
        out += next;
        pos += 2;
      } else {
        out += c;
        pos++;
      }
    }
    const after = peek();
    if (after !== undefined && !isSpace(after)) {
      throw new SearchSyntaxError(`a space is needed after the closing quote at ${pos}`, pos);
    }
    return out;
  };

  const terms: Term[] = [];
  for (;;) {
    while (isSpace(peek())) pos++;
    const start = pos;
    const first = peek();
    if (first === undefined) break;
    if (first === '"') {
      const word = quoted();
      if (word === '') throw new SearchSyntaxError(`empty quoted word at ${start + 1}`, start);
      terms.push({ kind: 'word', word });
      continue;
    }
    const head = unquoted(true);
    if (peek() !== ':') {
      terms.push({ kind: 'word', word: head });
      continue;
    }
    if (head === '') throw new SearchSyntaxError(`a term starts with ':' at ${start + 1}`, start);
    pos++;
    const c = peek();
    let value: string;
    if (c === '"') value = quoted();
    else if (c !== undefined && !isSpace(c)) value = unquoted(false);
    else throw new SearchSyntaxError(`${head}: needs a value`, pos);

    const column = COLUMN_ALIASES[head];
    if (column) {
      terms.push({ kind: 'column', column, value });
    } else if (ATTACKER_KEYS.has(head)) {
      const net = parseIpNet(value);
      if (!net) throw new SearchSyntaxError(`${head}: wants an IP address or a CIDR block, not ${value}`, start);
      terms.push({ kind: 'attacker', value, net });
    } else if (isFieldName(head)) {
      terms.push({ kind: 'field', key: head, value });
    } else {
      throw new SearchSyntaxError(`${head} cannot be a field name`, start);
    }
  }
  return terms;
}

/** Returns a message when the query would be refused, or null. */
export function validateSearch(query: string): string | null {
  try {
    parseSearch(query);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : 'invalid search';
  }
}

// --- formatting ----------------------------------------------------------------

function needsQuotes(text: string, isWord: boolean): boolean {
  return text === '' || /[\s"]/u.test(text) || (isWord && text.includes(':'));
}

function quote(text: string): string {
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** Renders a value so that it parses back unchanged. */
export function quoteValue(value: string): string {
  return needsQuotes(value, false) ? quote(value) : value;
}

/** Renders a bare word so that it parses back as that word. */
export function quoteWord(word: string): string {
  return needsQuotes(word, true) ? quote(word) : word;
}

export function formatTerm(term: Term): string {
  switch (term.kind) {
    case 'column':
      return `${term.column}:${quoteValue(term.value)}`;
    case 'attacker':
      return `attacker:${quoteValue(term.value)}`;
    case 'field':
      return `${term.key}:${quoteValue(term.value)}`;
    case 'word':
      return quoteWord(term.word);
  }
}

export function formatSearch(terms: Term[]): string {
  return terms.map(formatTerm).join(' ');
}

function keyOf(term: Term): string | null {
  switch (term.kind) {
    case 'column':
      return term.column;
    case 'attacker':
      return 'attacker';
    case 'field':
      return term.key;
    case 'word':
      return null;
  }
}

function valueOf(term: Term): string {
  return term.kind === 'word' ? term.word : term.value;
}

/** Adds `key:value` to a query, once. An unparsable query is replaced. */
export function addFilter(query: string, key: string, value: string): string {
  const addition = parseSearch(`${key}:${quoteValue(value)}`);
  let terms: Term[];
  try {
    terms = parseSearch(query);
  } catch {
    terms = [];
  }
  const [term] = addition;
  if (!term) return query;
  if (terms.some((t) => keyOf(t) === keyOf(term) && valueOf(t) === valueOf(term))) return formatSearch(terms);
  return formatSearch([...terms, term]);
}

/** Removes the `key:` terms (with this value, when given). */
export function removeFilter(query: string, key: string, value?: string): string {
  const target = COLUMN_ALIASES[key] ?? (ATTACKER_KEYS.has(key) ? 'attacker' : key);
  return formatSearch(parseSearch(query).filter((t) => !(keyOf(t) === target && (value === undefined || valueOf(t) === value))));
}

// --- matching -------------------------------------------------------------------

function column(event: DecnetEvent, c: ColumnKey): string | null | undefined {
  switch (c) {
    case 'decky':
      return event.decky;
    case 'service':
      return event.service;
    case 'event':
      return event.event_type;
    case 'host':
      return event.host;
    case 'session':
      return event.session_id;
  }
}

/** Whether an event matches every term, as the server's filter would decide. */
export function matchesEvent(terms: Term[], event: DecnetEvent): boolean {
  const fields = event.fields ?? {};
  return terms.every((t) => {
    switch (t.kind) {
      case 'column':
        return column(event, t.column) === t.value;
      case 'attacker':
        return contains(t.net, event.src_ip);
      case 'field':
        return fields[t.key] === t.value;
      case 'word': {
        const w = t.word.toLowerCase();
        if ((event.msg ?? '').toLowerCase().includes(w)) return true;
        return Object.entries(fields).some(([k, v]) => k.toLowerCase().includes(w) || v.toLowerCase().includes(w));
      }
    }
  });
}
