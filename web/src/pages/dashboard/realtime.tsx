import { useEffect, useState } from 'preact/hooks';
import { request } from '../../api';
import { formatValue, type ReportResponse } from '../../reports';

let realtimeApi: Promise<boolean> | null = null;
/** Whether this server documents `:runRealtimeReport` in its OpenAPI document (asked once). */
export function hasRealtimeApi(): Promise<boolean> {
  realtimeApi ??= fetch('/openapi.json')
    .then((r) => (r.ok ? r.json() : {}))
    .then((doc: { paths?: Record<string, unknown> }) => Object.keys(doc.paths ?? {}).some((p) => p.includes('runRealtimeReport')))
    .catch(() => false);
  return realtimeApi;
}

/** Users in the last 30 minutes, when the server has the realtime API; hidden otherwise. */
export function Realtime({ propertyId }: { propertyId: string }) {
  const [users, setUsers] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    let timer = 0;
    const poll = async () => {
      if (!(await hasRealtimeApi())) return;
      try {
        const r = await request<ReportResponse>('POST', `/v1beta/properties/${propertyId}:runRealtimeReport`, { metrics: [{ name: 'activeUsers' }] });
        if (!live) return;
        setUsers(Number(r.rows?.[0]?.metricValues[0]?.value ?? 0));
        timer = window.setTimeout(poll, 30_000);
      } catch {
        // no realtime API on this server (or not allowed): the card stays hidden
        if (live) setUsers(null);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [propertyId]);
  if (users === null) return null;
  return (
    <div class="realtime" role="status">
      <span class="live-dot" aria-hidden="true" /> <strong>{formatValue(users, 'int')}</strong> {users === 1 ? 'user' : 'users'} in the last 30 minutes
    </div>
  );
}
