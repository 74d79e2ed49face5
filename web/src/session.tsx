import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useMemo } from 'react';
import { useParams } from 'react-router';
import { ApiError, get, type Me, type ProjectInfo, post, setCsrfToken } from './api';

/** The signed-in user (GET /api/v1/me), or null when signed out. */
export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        const me = await get<Me>('/api/v1/me');
        setCsrfToken(me.csrfToken);
        return me;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          setCsrfToken(null);
          return null;
        }
        throw e;
      }
    },
    staleTime: 5 * 60_000,
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
}

export function useAuthActions() {
  const qc = useQueryClient();
  return {
    async login(email: string, password: string) {
      const me = await post<Me>('/api/v1/auth/login', { email, password });
      setCsrfToken(me.csrfToken);
      qc.setQueryData(['me'], me);
      return me;
    },
    async logout() {
      try {
        await post('/api/v1/auth/logout');
      } finally {
        setCsrfToken(null);
        qc.clear();
        qc.setQueryData(['me'], null);
      }
    },
  };
}

interface ProjectCtx {
  me: Me;
  project: ProjectInfo;
  /** `/api/v1/projects/{id}` */
  base: string;
  isSupervising: boolean;
}

const Ctx = createContext<ProjectCtx | null>(null);

/** Provides the project of the URL (`/p/:projectId/...`) to the pages under it. */
export function ProjectProvider({ me, children }: { me: Me; children: (p: ProjectInfo | null) => ReactNode }) {
  const { projectId } = useParams();
  const project = me.projects.find((p) => String(p.id) === projectId) ?? null;
  const value = useMemo(
    () =>
      project && {
        me,
        project,
        base: `/api/v1/projects/${project.id}`,
        isSupervising: project.role === 'admin' || project.role === 'supervisor',
      },
    [me, project],
  );
  return <Ctx.Provider value={value}>{children(project)}</Ctx.Provider>;
}

export function useProject(): ProjectCtx {
  const v = useContext(Ctx);
  if (!v) throw new Error('useProject outside a project route');
  return v;
}
