import { useEffect, useState } from 'preact/hooks';
import { request } from '../../api';
import type { ReportResponse } from '../../reports';

const runReport = (propertyId: string, body: unknown) => request<ReportResponse>('POST', `/v1beta/properties/${propertyId}:runReport`, body);

/** A report that reloads when its request changes, keeping the last answer on screen meanwhile. */
export function useReport(propertyId: string, body: unknown | null, onSettled?: () => void) {
  const key = JSON.stringify(body);
  const [state, setState] = useState<{ data: ReportResponse | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: body !== null });
  useEffect(() => {
    let live = true;
    if (body === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const settle = (data: ReportResponse | null, error: unknown) => {
      if (!live) return;
      setState({ data, error, loading: false });
      onSettled?.();
    };
    runReport(propertyId, body).then(
      (data) => settle(data, null),
      (error) => settle(null, error),
    );
    return () => void (live = false);
  }, [propertyId, key]);
  return state;
}
