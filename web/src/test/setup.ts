import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

// jsdom has no EventSource or ResizeObserver; pages that open a stream get an inert one.
class InertEventSource extends EventTarget {
  readonly url: string;
  onopen: ((ev: Event) => void) | null = null;
  constructor(url: string) {
    super();
    this.url = url;
  }
  close() {}
}
if (!('EventSource' in globalThis)) {
  (globalThis as unknown as { EventSource: unknown }).EventSource = InertEventSource;
}
if (!('ResizeObserver' in globalThis)) {
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
if (typeof window !== 'undefined' && !window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener() {},
      removeEventListener() {},
      addListener() {},
      removeListener() {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
