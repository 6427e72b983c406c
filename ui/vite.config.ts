// The planning UI's build: `npm run ui:build` (run by `npm install`) writes ui/dist, which
// `tdplan serve` serves at `/`. Everything is bundled: the page loads nothing from elsewhere.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed names under assets/: the server lets browsers keep them forever.
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1024,
  },
});
