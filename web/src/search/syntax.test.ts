import { describe, expect, it } from 'vitest';
import type { DecnetEvent } from '../api/types';
import {
  addFilter,
  formatSearch,
  matchesEvent,
  parseIpNet,
  parseSearch,
  quoteValue,
  quoteWord,
  removeFilter,
  SearchSyntaxError,
  validateSearch,
} from './syntax';

const event: DecnetEvent = {
  id: '0190-1',
  ts: '2026-04-24T16:24:33.123456Z',
  host: 'local',
  decky: 'web-01',
  service: 'ssh',
  event_type: 'login_attempt',
  src_ip: '203.0.113.7',
  src_port: 40022,
  dst_port: 22,
  session_id: 'sess-1',
  fields: { principal: 'root', secret_printable: 'hunter 2', outcome: 'failure' },
  msg: 'Failed password for root',
};

describe('parseSearch (the server grammar)', () => {
  it('parses columns, aliases, attacker blocks, fields and words', () => {
    expect(parseSearch('decky:web-01 event_type:login_attempt session_id:s host:h root')).toEqual([
      { kind: 'column', column: 'decky', value: 'web-01' },
      { kind: 'column', column: 'event', value: 'login_attempt' },
      { kind: 'column', column: 'session', value: 's' },
      { kind: 'column', column: 'host', value: 'h' },
      { kind: 'word', word: 'root' },
    ]);
    const [a] = parseSearch('src_ip:10.0.0.0/8');
    expect(a).toMatchObject({ kind: 'attacker', value: '10.0.0.0/8', net: { v: 4, prefix: 8 } });
    expect(parseSearch('principal:"a b" "two words"')).toEqual([
      { kind: 'field', key: 'principal', value: 'a b' },
      { kind: 'word', word: 'two words' },
    ]);
  });

  it('splits at the first colon only', () => {
    expect(parseSearch('attacker:2001:db8::1 url:http://x/y')).toMatchObject([
      { kind: 'attacker', value: '2001:db8::1' },
      { kind: 'field', key: 'url', value: 'http://x/y' },
    ]);
  });

  it('unescapes only \\" and \\\\ inside quotes', () => {
    expect(parseSearch('path:"C:\\temp\\x" q:"say \\"hi\\" \\\\"')).toEqual([
      { kind: 'field', key: 'path', value: 'C:\\temp\\x' },
      { kind: 'field', key: 'q', value: 'say "hi" \\' },
    ]);
  });

  it('refuses what the server refuses', () => {
    const bad = [
      'k:"open',
      'a"b',
      'k:"x"y',
      ':v',
      'k:',
      'k: v',
      '""',
      'attacker:nope',
      'attacker:10.0.0.0/33',
      'attacker:10.0.0.1/+8',
      'bad=key:v',
      'x'.repeat(33) + ':v',
      'a\0b',
      'x'.repeat(513),
    ];
    for (const q of bad) expect(() => parseSearch(q), q).toThrow(SearchSyntaxError);
    expect(validateSearch('x'.repeat(512))).toBeNull();
    expect(validateSearch('é'.repeat(512))).toBeNull();
    expect(validateSearch('k:"open')).toMatch(/unclosed quote/);
  });
});

describe('IP blocks', () => {
  it('parses v4, v6 and blocks', () => {
    expect(parseIpNet('203.0.113.7')).toEqual({ v: 4, addr: 0xcb007107n, prefix: 32 });
    expect(parseIpNet('::1')).toEqual({ v: 6, addr: 1n, prefix: 128 });
    expect(parseIpNet('2001:db8::/32')?.prefix).toBe(32);
    expect(parseIpNet('::ffff:1.2.3.4')?.addr).toBe(0xffff01020304n);
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', 'g::1', '1.2.3.4/', '::/129']) {
      expect(parseIpNet(bad), bad).toBeNull();
    }
  });
});

describe('formatting', () => {
  it('round-trips values and words', () => {
    const samples = ['plain', 'a b', 'quote"inside', "it's", 'back\\slash', 'trail\\', 'C:\\x', '$HOME', 'a:b', '<img src=x onerror=alert(1)>', 'é ü'];
    for (const s of samples) {
      expect(parseSearch(`k:${quoteValue(s)}`), s).toEqual([{ kind: 'field', key: 'k', value: s }]);
      expect(parseSearch(quoteWord(s)), s).toEqual([{ kind: 'word', word: s }]);
    }
  });

  it('round-trips random strings', () => {
    const alphabet = 'ab :"\'\\$`\t<>&é';
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
    for (let i = 0; i < 500; i++) {
      const len = 1 + (rnd() % 12);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[rnd() % alphabet.length];
      expect(parseSearch(`k:${quoteValue(s)}`)).toEqual([{ kind: 'field', key: 'k', value: s }]);
      const terms = parseSearch(formatSearch([{ kind: 'word', word: s }]));
      expect(terms).toEqual([{ kind: 'word', word: s }]);
    }
  });

  it('adds and removes filters', () => {
    let q = addFilter('root', 'service', 'ssh');
    expect(q).toBe('root service:ssh');
    expect(addFilter(q, 'service', 'ssh')).toBe(q);
    q = addFilter(q, 'principal', 'a b');
    expect(q).toBe('root service:ssh principal:"a b"');
    expect(removeFilter(q, 'service')).toBe('root principal:"a b"');
    expect(addFilter('"broken', 'decky', 'd')).toBe('decky:d');
    expect(addFilter('', 'attacker', '127.0.0.1')).toBe('attacker:127.0.0.1');
  });
});

describe('matchesEvent', () => {
  const m = (q: string) => matchesEvent(parseSearch(q), event);
  it('matches columns exactly', () => {
    expect(m('decky:web-01 service:ssh event:login_attempt host:local session:sess-1')).toBe(true);
    expect(m('service:http')).toBe(false);
    expect(m('decky:web')).toBe(false);
    expect(m('service:SSH')).toBe(false);
  });
  it('matches attacker addresses and blocks', () => {
    expect(m('attacker:203.0.113.7')).toBe(true);
    expect(m('attacker:203.0.113.0/24')).toBe(true);
    expect(m('attacker:203.0.112.0/24')).toBe(false);
    expect(m('attacker:::/0')).toBe(false);
    expect(matchesEvent(parseSearch('attacker:203.0.113.0/24'), { ...event, src_ip: '::ffff:203.0.113.9' })).toBe(true);
    expect(matchesEvent(parseSearch('attacker:2001:db8::/32'), { ...event, src_ip: '2001:db8:0:0::5' })).toBe(true);
  });
  it('matches other keys against fields', () => {
    expect(m('principal:root')).toBe(true);
    expect(m('secret_printable:"hunter 2"')).toBe(true);
    expect(m('principal:admin')).toBe(false);
    expect(m('nosuchfield:x')).toBe(false);
  });
  it('matches bare words in the message and fields, case-insensitively', () => {
    expect(m('FAILED')).toBe(true);
    expect(m('hunter')).toBe(true);
    expect(m('web-01')).toBe(false); // the decky column is not searched by words
    expect(m('nothing-like-this')).toBe(false);
  });
  it('matches everything when empty', () => {
    expect(m('')).toBe(true);
  });
});
