import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web app (issue 4). Built into web/dist and served by the server (src/http/web.ts): hashed
// assets under /assets/ with a long cache, index.html for every other app path. `npm run dev:web`
// proxies the API to a server on :3000.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
});
