import { lazy, Suspense } from 'react';
import { Loading } from '../../components/States';

// Loaded when first opened, like the log: the workspace does not pay for it.
const AnalyticsView = lazy(() => import('./AnalyticsView'));

export function AnalyticsPage() {
  return (
    <Suspense fallback={<Loading />}>
      <AnalyticsView />
    </Suspense>
  );
}
