import { lazy, Suspense } from 'react';
import { Loading } from '../../components/States';

// Administration loads when first opened: managers never download it, and the app's first load
// stays small (issue 4: ≤ 250 KB gzipped).
const AdminView = lazy(() => import('./AdminView'));

export function AdminPage() {
  return (
    <Suspense fallback={<Loading />}>
      <AdminView />
    </Suspense>
  );
}
