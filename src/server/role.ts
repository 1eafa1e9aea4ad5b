/** The processes Tally can run as; each is a list of modules (`ROLES` in modules.ts). */
export type Role = 'collector' | 'api' | 'worker' | 'scheduler';
