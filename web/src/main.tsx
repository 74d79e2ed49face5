import '@mantine/core/styles.css';
import '@mantine/dates/styles.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useParams } from 'react-router';
import { Layout } from './components/Layout';
import { Failure, Loading } from './components/States';
import { I18nProvider, useI18n } from './i18n';
import { useProjectStream } from './realtime';
import { AdminPage } from './pages/admin/AdminPage';
import { InvitePage } from './pages/admin/InvitePage';
import { LoginPage } from './pages/Login';
import { LogPage } from './pages/log/LogPage';
import { AnalyticsPage } from './pages/analytics/AnalyticsPage';
import { ProjectProvider, useMe, useProject } from './session';

// Each page's code loads when it is first opened: the log's first load stays under its budget.
const WorkspacePage = lazy(() => import('./pages/workspace/WorkspacePage').then((m) => ({ default: m.WorkspacePage })));

const theme = createTheme({ primaryColor: 'blue', primaryShade: 8, defaultRadius: 'sm', fontSmoothing: true });
const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 15_000, refetchOnWindowFocus: true, retry: 1 } },
});

function ProjectRoutes() {
  const { project } = useProject();
  const { connected } = useProjectStream(project.id);
  return (
    <Layout connected={connected}>
      <Routes>
        <Route
          path="workspace"
          element={
            <Suspense fallback={<Loading />}>
              <WorkspacePage />
            </Suspense>
          }
        />
        <Route
          path="workspace/:dialogId"
          element={
            <Suspense fallback={<Loading />}>
              <WorkspacePage />
            </Suspense>
          }
        />
        <Route path="log" element={<LogPage />} />
        <Route path="analytics" element={<AnalyticsPage />} />
        <Route
          path="admin/*"
          element={project.role === 'admin' ? <AdminPage /> : <Navigate to="../workspace" replace />}
        />
        <Route path="*" element={<Navigate to="workspace" replace />} />
      </Routes>
    </Layout>
  );
}

function ProjectScope() {
  const me = useMe().data!;
  const { projectId } = useParams();
  return (
    <ProjectProvider me={me}>
      {(project) => (project ? <ProjectRoutes key={projectId} /> : <Navigate to="/" replace />)}
    </ProjectProvider>
  );
}

function Root() {
  const { t } = useI18n();
  const me = useMe();
  if (me.isPending) return <Loading />;
  if (me.isError) return <Failure error={me.error} onRetry={() => void me.refetch()} />;
  if (!me.data) return <LoginPage />;
  const first = me.data.projects[0];
  return (
    <Routes>
      <Route path="/p/:projectId/*" element={<ProjectScope />} />
      <Route
        path="*"
        element={
          first ? <Navigate to={`/p/${first.id}/workspace`} replace /> : <Failure error={t('common.noProjects')} />
        }
      />
    </Routes>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <I18nProvider>
          <BrowserRouter>
            <Routes>
              <Route path="/invite/:token" element={<InvitePage />} />
              <Route path="*" element={<Root />} />
            </Routes>
          </BrowserRouter>
        </I18nProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
