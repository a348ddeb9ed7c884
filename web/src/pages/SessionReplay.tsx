// Replay of a recorded SSH/Telnet session (asciicast v2) with asciinema-player,
// plus keyboard-usable controls: play/pause, speed, a position slider, ±5 s.

import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { useApi } from '../auth/AuthContext';
import { errorMessage } from '../api/useQuery';
import { ErrorMessage } from '../components/ErrorMessage';
import { castInfo } from '../api/cast';
import type { CastInfo } from '../api/cast';

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

function fmt(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function SessionReplay() {
  const { sid = '' } = useParams();
  const api = useApi();
  const [cast, setCast] = useState<string | null>(null);
  const [info, setInfo] = useState<CastInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [speed, setSpeed] = useState(1);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const player = useRef<AsciinemaPlayer.Player | null>(null);
  const resumeAt = useRef<{ time: number; play: boolean }>({ time: 0, play: false });
  const playingRef = useRef(playing);
  playingRef.current = playing;

  useEffect(() => {
    document.title = `Session ${sid} · DECNET`;
    const controller = new AbortController();
    setCast(null);
    setError(null);
    api
      .sessionCast(sid, controller.signal)
      .then((text) => {
        setInfo(castInfo(text));
        setCast(text);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(errorMessage(e));
      });
    return () => controller.abort();
  }, [api, sid]);

  // (Re)creates the player for the recording and speed, resuming where it was.
  useEffect(() => {
    const el = box.current;
    if (!cast || !el) return;
    const { time, play } = resumeAt.current;
    const p = AsciinemaPlayer.create({ data: cast }, el, {
      speed,
      startAt: time,
      autoPlay: play,
      preload: true,
      fit: 'width',
      theme: 'asciinema',
      idleTimeLimit: 5,
      terminalFontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    });
    player.current = p;
    p.addEventListener('play', () => setPlaying(true));
    p.addEventListener('playing', () => setPlaying(true));
    p.addEventListener('pause', () => setPlaying(false));
    p.addEventListener('ended', () => setPlaying(false));
    const tick = setInterval(() => setPosition(p.getCurrentTime()), 250);
    return () => {
      clearInterval(tick);
      resumeAt.current = { time: p.getCurrentTime(), play: playingRef.current };
      p.dispose();
      player.current = null;
    };
  }, [cast, speed]);

  const seek = useCallback((t: number) => {
    const p = player.current;
    if (!p) return;
    const max = p.getDuration() ?? info?.duration ?? 0;
    const target = Math.min(Math.max(0, t), max);
    void p.seek(target);
    setPosition(target);
  }, [info]);

  const duration = player.current?.getDuration() ?? info?.duration ?? 0;
  return (
    <>
      <p>
        <Link to="/attackers">← Attackers</Link>
      </p>
      <h1>
        Session <span className="mono">{sid}</span>
      </h1>
      <ErrorMessage message={error} />
      {!cast && !error ? <p role="status">Loading the recording…</p> : null}
      {info ? (
        <p className="muted">
          {info.width}×{info.height} terminal, {info.events} events, {fmt(info.duration)} long
          {info.timestamp ? `, recorded ${new Date(info.timestamp * 1000).toISOString()}` : ''}.
        </p>
      ) : null}
      <div className="player" ref={box} data-testid="player" aria-label="Terminal recording" role="region" />
      {cast ? (
        <div className="toolbar player-controls" role="group" aria-label="Playback controls">
          <button
            type="button"
            onClick={() => void (playing ? player.current?.pause() : player.current?.play())}
          >
            {playing ? 'Pause replay' : 'Play replay'}
          </button>
          <button type="button" onClick={() => seek(position - 5)} aria-label="Back 5 seconds">
            −5 s
          </button>
          <button type="button" onClick={() => seek(position + 5)} aria-label="Forward 5 seconds">
            +5 s
          </button>
          <label htmlFor="replay-position">Position</label>
          <input
            id="replay-position"
            type="range"
            className="grow"
            min={0}
            max={Math.max(duration, 0.001)}
            step={0.1}
            value={Math.min(position, duration)}
            aria-valuetext={`${fmt(position)} of ${fmt(duration)}`}
            onChange={(e) => seek(Number(e.target.value))}
          />
          <span className="mono" aria-hidden="true">
            {fmt(position)} / {fmt(duration)}
          </span>
          <label htmlFor="replay-speed">Speed</label>
          <select id="replay-speed" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </div>
      ) : null}
    </>
  );
}
