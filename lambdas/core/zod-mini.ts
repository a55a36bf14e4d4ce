import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/*
 * zod/mini with zod's English messages, for the schemas on a Lambda's cold path (its environment, the events): the
 * same checks and messages as `zod`, at a fifth of its import cost (no methods built onto every schema; ~15 KB
 * instead of ~90 KB in a bundle). Classic `zod` loads the English locale itself; zod/mini loads none, so its
 * messages would otherwise be a bare "Invalid input".
 */
z.config(en());

export * from 'zod/mini';
