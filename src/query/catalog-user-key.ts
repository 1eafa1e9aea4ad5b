/**
 * Who an event's user is (GA4's reporting identity): the user id it carries, else the user its
 * client was first linked to (`idm`, from the identities table, so anonymous history counts as
 * the user's once they identify, whenever that was), else its client id. User ids and client ids
 * share one namespace, as in PostHog and Segment, whose identified events carry the user id as
 * their distinct or anonymous id.
 */
export const USER_KEY = 'COALESCE(e.user_id, idm.user_id, e.client_id)';
