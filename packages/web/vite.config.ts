import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The portal is served same-origin by the node (docs/web.md); in `vite dev` the
// API is proxied to a node on its default port.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts: the CSP forbids 'unsafe-inline'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8787' },
  },
});
