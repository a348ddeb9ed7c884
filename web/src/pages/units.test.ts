import { describe, expect, it } from 'vitest';
import { castInfo } from '../api/cast';
import type { DecnetEvent, Decky, Host } from '../api/types';
import { histogramSummary } from '../components/histogramSummary';
import { formatBytes, isRecorded } from './AttackerDetail';
import { newPasswordProblem } from './ChangePassword';
import { mergeEvents } from './Events';
import { archetypeDeckies, archetypeIni, groupByHost } from './Fleet';
import { enrollCommand, shellQuote } from './Hosts';

const e = (id: string, ts: string): DecnetEvent => ({
  id,
  ts,
  host: 'h',
  decky: 'd',
  service: 's',
  event_type: 't',
  src_ip: '127.0.0.1',
  fields: {},
});

describe('mergeEvents', () => {
  it('keeps newest first, without duplicates, capped', () => {
    const cur = [e('b', '2026-01-01T00:00:02Z'), e('a', '2026-01-01T00:00:01Z')];
    const out = mergeEvents(cur, [e('c', '2026-01-01T00:00:03Z'), e('b', '2026-01-01T00:00:02Z')], 2);
    expect(out.map((x) => x.id)).toEqual(['c', 'b']);
  });
});

describe('groupByHost', () => {
  const hosts: Host[] = [
    { id: 'h1', name: 'sensor-1', status: 'online' },
    { id: 'h2', name: 'far', status: 'offline' },
  ];
  const d = (name: string, host: string): Decky => ({ name, host, state: 'running', services: [] });
  it('puts the embedded agent first, then hosts, then unlisted hosts', () => {
    const groups = groupByHost(hosts, [d('a', 'sensor-1'), d('b', ''), d('c', 'gone'), d('e', 'far')]);
    expect(groups.map((g) => [g.name, g.host?.id ?? null, g.deckies.map((x) => x.name)])).toEqual([
      ['', null, ['b']],
      ['sensor-1', 'h1', ['a']],
      ['far', 'h2', ['e']],
      ['gone', null, ['c']],
    ]);
  });
  it('keeps hosts without deckies', () => {
    expect(groupByHost(hosts, []).map((g) => g.name)).toEqual(['sensor-1', 'far']);
  });
});

describe('archetypeDeckies', () => {
  it('names deckies after the archetype, skipping names in use', () => {
    expect(archetypeDeckies('web-server', 3, ['web-server-1', 'web-server-3'])).toEqual([
      { name: 'web-server-2', archetype: 'web-server' },
      { name: 'web-server-4', archetype: 'web-server' },
      { name: 'web-server-5', archetype: 'web-server' },
    ]);
  });

  it('becomes an INI fleet file with one section per decky', () => {
    expect(archetypeIni(archetypeDeckies('linux-server', 2, []))).toBe(
      '[linux-server-1]\narchetype = linux-server\n\n[linux-server-2]\narchetype = linux-server\n',
    );
  });
});

describe('enrollment command', () => {
  it('uses the command the master gives', () => {
    expect(enrollCommand({ token: 't', command: 'decnet-agent enroll --token t --master m:1' })).toBe(
      'decnet-agent enroll --token t --master m:1',
    );
  });
  it('otherwise builds it, quoting the token for the shell', () => {
    expect(enrollCommand({ token: 'abc_123-x.y' })).toBe('decnet-agent enroll --token abc_123-x.y');
    expect(shellQuote("a b'c")).toBe("'a b'\\''c'");
  });
});

describe('castInfo', () => {
  it('reads the header and the duration', () => {
    const text = '{"version":2,"width":100,"height":30,"timestamp":1700000000}\n[0.5,"o","a"]\n[2.25,"o","b"]\n[2.5,"i","x"]\n';
    expect(castInfo(text)).toEqual({ width: 100, height: 30, timestamp: 1700000000, events: 3, duration: 2.5 });
  });
  it('skips a torn last line', () => {
    expect(castInfo('{"version":2,"width":80,"height":24}\n[1,"o","a"]\n[2,"o",').events).toBe(1);
  });
  it('refuses what is not asciicast v2', () => {
    expect(() => castInfo('')).toThrow(/empty/);
    expect(() => castInfo('{"version":1}')).toThrow(/v2/);
    expect(() => castInfo('<html>')).toThrow(/header/);
  });
});

describe('small formatters', () => {
  it('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(20480)).toBe('20.0 KiB');
    expect(formatBytes(-1)).toBe('—');
  });
  it('isRecorded', () => {
    expect(isRecorded({ sid: 's', decky: 'd', service: 'ssh', started_at: 'x', transcript_bytes: 10 })).toBe(true);
    expect(isRecorded({ sid: 's', decky: 'd', service: 'ssh', started_at: 'x', transcript_bytes: null })).toBe(false);
    expect(isRecorded({ sid: 's', decky: 'd', service: 'ssh', started_at: 'x', recorded: true })).toBe(true);
  });
  it('newPasswordProblem', () => {
    expect(newPasswordProblem('old', 'short', 'short')).toMatch(/12/);
    expect(newPasswordProblem('same-password-1', 'same-password-1', 'same-password-1')).toMatch(/differ from the current/);
    expect(newPasswordProblem('old', 'long-enough-pw', 'long-enough-px')).toMatch(/differ/);
    expect(newPasswordProblem('old', 'long-enough-pw', 'long-enough-pw')).toBeNull();
  });
  it('histogramSummary', () => {
    expect(histogramSummary([])).toMatch(/No events/);
    expect(
      histogramSummary([
        { start: '2026-01-01T00:00:00Z', count: 2 },
        { start: '2026-01-01T00:01:00Z', count: 5 },
      ]),
    ).toMatch(/^7 events .* 2 intervals; busiest interval .* with 5\.$/);
  });
});
