export type { Sink, SinkEntry } from './sink.js'
