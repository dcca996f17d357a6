import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../lambda/local/flags.js';

describe('parseFlags', () => {
  it('names the option a typo was meant to be', () => {
    expect(() => parseFlags(['--cout', '3'])).toThrow("Unknown option '--cout' (did you mean --count?)");
    expect(() => parseFlags(['--concurency', '3'])).toThrow('(did you mean --concurrency?)');
  });

  it('points to --help for an option like none it knows, in the words of the command', () => {
    expect(() => parseFlags(['--frobnicate'])).toThrow(
      "Unknown option '--frobnicate'; npm start -- --help lists the options",
    );
    expect(() => parseFlags(['--frobnicate'], 'invoke')).toThrow('npm run invoke -- --help lists the options');
  });

  it('takes --version and -v', () => {
    expect(parseFlags(['--version']).version).toBe(true);
    expect(parseFlags(['-v']).version).toBe(true);
    expect(parseFlags([]).version).toBe(false);
  });

  it('takes --list with --cursor, and refuses it with request flags or --retry', () => {
    expect(parseFlags(['--list', '--cursor', 'c'])).toMatchObject({ list: true, cursor: 'c' });
    expect(() => parseFlags(['--list', '--count', '3'])).toThrow('--list runs no batch; --count cannot go with it');
    expect(() => parseFlags(['--list', '--retry', 'b'])).toThrow('--retry cannot go with it');
  });
});
