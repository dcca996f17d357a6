/**
 * The architecture, checked on every `npm test` (see README, "Architecture"). Dependencies point
 * one way inside the function: handlers -> adapters -> orchestration -> pipeline -> source |
 * storage -> contracts. The function never imports local commands, emulators, infra or tests, and nothing
 * imports a package's internal files.
 */
const layer = (name) => `^lambda/function/${name}/`;
const below = {
  // One entry per trigger (api, runs, workflow): each wires a batch service, then hands its event to an adapter.
  handlers: [],
  adapters: ['handlers'],
  orchestration: ['handlers', 'adapters'],
  // The batch as a page: drawn from contracts (and storage's key layout), for orchestration
  // (report.html) and local pages.
  report: ['handlers', 'adapters', 'orchestration', 'pipeline', 'source'],
  pipeline: ['handlers', 'adapters', 'orchestration', 'report'],
  source: ['handlers', 'adapters', 'orchestration', 'pipeline', 'storage', 'report'],
  storage: ['handlers', 'adapters', 'orchestration', 'pipeline', 'source', 'report'],
  contracts: ['handlers', 'adapters', 'orchestration', 'pipeline', 'source', 'storage', 'report'],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'bundle-stays-deployable',
      comment:
        'What the Lambda bundles never imports local commands, emulators, the API description, infra or tests.',
      severity: 'error',
      from: { path: '^lambda/function/' },
      to: { path: '^(lambda/local|lambda/emulators|lambda/api-description|infra|test)/' },
    },
    {
      name: 'bundle-holds-what-runs',
      comment:
        "Every module under lambda/function is reached from a Lambda entry: code only infra/ or local/ uses lives there, not in the bundled tree. Types-only modules count: the schemas' types are read by the entries.",
      severity: 'error',
      from: { path: '^lambda/function/handlers/(api|workflow)\\.ts$' },
      to: { path: '^lambda/function/', pathNot: '^lambda/function/handlers/(api|workflow)\\.ts$', reachable: false },
    },
    {
      name: 'zod-mini-in-the-bundle',
      comment:
        "The bundle uses zod/mini, which tree-shakes: classic zod ('zod') brings all of itself, about 0.4 MB read at every cold start.",
      severity: 'error',
      from: { path: '^lambda/function/' },
      to: { path: '^node_modules/zod/(index|v4/classic/)' },
    },
    {
      name: 'handlers-are-the-top',
      comment: 'Nothing imports an entry point: each is what one function runs, and makes its clients at import.',
      severity: 'error',
      from: { pathNot: '^(test/|lambda/function/handlers/)' },
      to: { path: '^lambda/function/handlers/(api|runs|workflow)\\.ts$' },
    },
    ...Object.entries(below).map(([from, forbidden]) => ({
      name: `${from}-points-down`,
      comment: `${from} may not import ${forbidden.join(', ')}: layers point one way.`,
      severity: 'error',
      from: { path: layer(from) },
      to: { path: forbidden.length ? `^lambda/function/(${forbidden.join('|')})/` : '^$' },
    })),
    {
      name: 'resolvable',
      comment:
        "Every import resolves through the package's exports map: a deep import into a package that does not export it is refused here.",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'public-api-only',
      comment:
        "A package's internal files are a promise nobody made. Packages with an exports map are held to it by `resolvable`; undici has none.",
      severity: 'error',
      from: { path: '^(lambda|infra)/' },
      to: { path: '^node_modules/undici/lib/' },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(cdk\\.out|\\.build)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
