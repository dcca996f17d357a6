/**
 * The AWS SDK warns on every start that it will need Node 22 from 2027. Locally that is noise on
 * each run (Lambda runs Node 24 and never sees it), so this drops that one warning and no other.
 */
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (text.startsWith('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
