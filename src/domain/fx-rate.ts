/** One currency's rate on one day: units of `currency` per euro (the ECB's reference rates; EUR itself: 1). */
export interface FxRate {
  /** YYYY-MM-DD */
  date: string;
  /** ISO 4217, upper case. */
  currency: string;
  perEur: number;
}
