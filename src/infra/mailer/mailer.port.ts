/** Outgoing e-mail. Embedded: `.eml` files in the data dir's outbox. At scale: SMTP. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The one link the message is about (verification, reset, invitation); logged by the outbox. */
  link?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}
