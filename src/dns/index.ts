// The face of src/dns: everything outside this folder imports from here.
export * from './wire/index.js';
export * from './cache/index.js';
