import type { CSSProperties } from 'react';

/**
 * Text colours with at least 4.5:1 contrast (WCAG AA; axe's "serious" bar). Mantine's default shades
 * for filled buttons, links, dimmed text and light alerts (blue.6, gray.6, green.9 …) fall below it,
 * so the administration pages re-point those variables for everything inside them.
 */
export const OK_COLOR = '#1e6b34';
export const WARN_COLOR = '#a33a0b';
export const ERROR_COLOR = 'var(--mantine-color-red-9)';

export const CONTRAST_VARS = {
  '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
  '--mantine-color-anchor': 'var(--mantine-color-blue-9)',
  // Variables defined through other variables at :root are resolved there: each is re-pointed itself.
  '--mantine-primary-color-filled': 'var(--mantine-color-blue-8)',
  '--mantine-primary-color-filled-hover': 'var(--mantine-color-blue-9)',
  '--mantine-color-blue-filled': 'var(--mantine-color-blue-8)',
  '--mantine-color-blue-filled-hover': 'var(--mantine-color-blue-9)',
  '--mantine-color-red-filled': 'var(--mantine-color-red-9)',
  '--mantine-color-red-filled-hover': '#a61e1e',
  '--mantine-color-blue-light-color': 'var(--mantine-color-blue-9)',
  '--mantine-color-green-light-color': OK_COLOR,
  '--mantine-color-red-light-color': 'var(--mantine-color-red-9)',
  '--mantine-color-orange-light-color': WARN_COLOR,
  '--mantine-color-red-text': 'var(--mantine-color-red-9)',
  '--mantine-color-error': 'var(--mantine-color-red-9)',
} as CSSProperties;
