/**
 * The server's own SMS analysis (GSM 03.38 vs UCS-2, segments), shared so that the composer counts
 * exactly as the SMSC will be sent: src/core/sms.ts is pure TypeScript without Node APIs.
 */
export { analyzeSms, type SmsAnalysis } from '../../../../src/core/sms';
