import { pino, type Logger } from 'pino';

/** Structured JSON logs; tokens and message content are never logged. */
export const createLogger = (level: string): Logger =>
  pino({
    level,
    redact: { paths: ['req.headers.authorization', 'req.query.token', '*.content', '*.token'], censor: '[redacted]' },
  });
