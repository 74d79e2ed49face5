import { lazy, Suspense } from 'react';
import { Loading } from '../../components/States';

// The log (with the date picker, the virtualiser and its styles) loads when first opened, so the
// workspace does not pay for it and the app's first load stays small (issue 4: ≤ 250 KB gzipped).
const LogView = lazy(() => import('./LogView'));

export function LogPage() {
  return (
    <Suspense fallback={<Loading />}>
      <LogView />
    </Suspense>
  );
}
