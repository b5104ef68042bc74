export { LapiStreamClient, LapiHttpError, type LapiUpdate, type LapiStreamClientOptions, type LapiClientStats } from './stream-client.js';
export { decodeStream, readLapiDecision, reasonFor, LapiResponseError, type LapiDecision, type DecodedStream, type DecodeCounts, type DecodeOptions } from './decode.js';
