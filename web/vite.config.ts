/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is served by decnet-master at `/`; the API lives under `/api/v1`.
// In development (`npm run dev`) the API calls go to a running master
// (DECNET_API, default http://127.0.0.1:8080).
const api = process.env.DECNET_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    // Hashed file names let the master serve /assets/* with a long immutable cache.
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': { target: api, changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
