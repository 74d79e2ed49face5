import { lazy, Suspense } from 'react';
import { Loading } from '../../components/States';

// The public page behind an invitation link (`/invite/:token`), loaded only when such a link is opened.
const InviteView = lazy(() => import('./InviteView'));

export function InvitePage() {
  return (
    <Suspense fallback={<Loading />}>
      <InviteView />
    </Suspense>
  );
}
