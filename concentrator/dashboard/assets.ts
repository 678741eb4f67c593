// The dashboard's static files (HTML, JS modules, CSS: no build step), served from a fixed list so no path escapes the folder.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** URL path -> file in static/, and its content type. */
export const DASHBOARD_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/view.js': { file: 'view.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** The static folder: next to this file in the checkout (the compiled module runs from dist/, the files stay in the source tree). */
export function dashboardDir(): string {
  for (const rel of ['./static/', '../../../concentrator/dashboard/static/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the dashboard files (concentrator/dashboard/static) are missing from this installation');
}

export interface Asset {
  body: Buffer;
  type: string;
}

/** Reads every file once. */
export function loadDashboard(dir: string = dashboardDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(DASHBOARD_FILES)) out.set(path, { body: readFileSync(`${dir}${file}`), type });
  return out;
}
