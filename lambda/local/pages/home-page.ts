import { type JsonSchema, requestJsonSchema } from '../../api-description/json-schemas.js';
import type { Config } from '../../function/contracts/config.js';
import type { BatchSummary } from '../../function/orchestration/batch-list.js';
import { escapeHtml as e } from '../../function/report/html.js';
import { sourceName } from '../../function/report/source-name.js';
import { listedBatch } from '../summary.js';

/** What each request field is, in the form's words. */
const HINTS: Record<string, string> = {
  count: 'images to fetch',
  width: 'pixels',
  height: 'pixels (default: the width)',
  concurrency: 'downloads in flight',
  grayscale: 'grayscale images',
  blur: 'blur, 1 to 10',
  format: 'image format',
  seed: 'the same seed fetches the same photos',
  distinct: 'N different photos',
  ids: 'exactly these photos, in order (comma-separated ids)',
};

/** A form field for a request property, from its JSON Schema: a number, a checkbox, a choice or text. */
function field(name: string, schema: JsonSchema): string {
  const label = `<label for="f-${name}">${name}</label>`;
  const hint = `<small id="h-${name}">${e(HINTS[name] ?? '')}</small>`;
  const error = `<small class="error" id="e-${name}" data-error-for="${name}" role="alert"></small>`;
  const described = `aria-describedby="h-${name} e-${name}"`;
  if (schema.type === 'integer') {
    // The default shows in the empty field: left empty, it is what the batch gets.
    const placeholder = schema.default === undefined ? '' : ` placeholder="${e(String(schema.default))}"`;
    return `<p>${label}<input id="f-${name}" name="${name}" type="number" min="${schema.minimum}" max="${schema.maximum}" step="1"${placeholder} ${described}>${hint}${error}</p>`;
  }
  if (schema.type === 'boolean') {
    return `<p class="check"><input id="f-${name}" name="${name}" type="checkbox" ${described}>${label}${hint}${error}</p>`;
  }
  if (Array.isArray(schema.enum)) {
    return `<p>${label}<select id="f-${name}" name="${name}" ${described}><option value="">default${schema.default === undefined ? '' : ` (${e(String(schema.default))})`}</option>${schema.enum.map((value) => `<option>${e(String(value))}</option>`).join('')}</select>${hint}${error}</p>`;
  }
  return `<p>${label}<input id="f-${name}" name="${name}" type="text" ${described}>${hint}${error}</p>`;
}

/** The newest batches, each linking to its view: what a person comes back to the page for. */
function recentBatches(batches: readonly BatchSummary[]): string {
  if (batches.length === 0) return '<p>No batches yet.</p>';
  const rows = batches.map((batch) => {
    const { status, stored, failed, requested, created, problem } = listedBatch(batch);
    const title = problem ? ` title="${e(problem)}"` : '';
    return `<tr><td><a href="/batches/${encodeURIComponent(batch.batchId)}/view">${e(batch.batchId)}</a></td><td${title}>${e(status)}</td><td>${e(stored)}</td><td>${e(failed)}</td><td>${e(requested)}</td><td>${e(created)}</td></tr>`;
  });
  return `<table id="recent"><thead><tr><th>Batch</th><th>Status</th><th>Stored</th><th>Failed</th><th>Requested</th><th>Created (UTC)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * `npm run dev`'s page: a form for a batch (the request's fields, validated by the API itself, whose
 * messages appear beside the field they name), then the batch's progress and its view. The script
 * is /assets/page.js, built from pages/browser/page.ts.
 */
export function renderHomePage(config: Config, recent: readonly BatchSummary[] = []): string {
  const fields = Object.entries(requestJsonSchema(config, 'draft-2020-12').properties as Record<string, JsonSchema>);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>picsum-batch</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:60rem;color:#1b1b1f}
form{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.25rem 1rem}
label{display:block;font-weight:600}input[type=number],input[type=text],select{width:100%;box-sizing:border-box;padding:.3rem}
.check label{display:inline}small{display:block;color:#555}.error{color:#b3261e}
button{padding:.5rem 1.2rem;font-size:1rem;margin-top:.5rem}:focus{outline:2px solid #3d5a99}
#status{margin:1rem 0;font-weight:600}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left}td:nth-child(n+3){text-align:right}
</style>
<script type="module" src="/assets/page.js"></script>
</head>
<body>
<main>
<h1>picsum-batch</h1>
<p>Fetch images from <span data-fact="source">${e(sourceName(config.source))}</span> into the bucket <code>${e(config.bucket)}</code>, then look at the batch.</p>
<form id="batch" novalidate>
${fields.map(([name, spec]) => field(name, spec)).join('\n')}
<p><button type="submit">Run batch</button></p>
</form>
<p id="status" role="status" aria-live="polite"></p>
<progress id="progress" hidden></progress>
<h2>Recent batches</h2>
${recentBatches(recent)}
</main>
</body>
</html>
`;
}
