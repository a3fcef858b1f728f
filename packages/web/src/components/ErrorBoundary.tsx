import { Component, type ReactNode } from 'react';
import { plainError } from '../lib/errors.ts';

/** Catches a render or lazy-load failure and says so in plain words, instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    if (this.state.error === undefined) return this.props.children;
    const message = String((this.state.error as Error)?.message ?? '');
    const stale = /dynamically imported module|Importing a module script failed|chunk/iu.test(message);
    return (
      <section className="card" role="alert">
        <h2>This part of the portal could not be shown</h2>
        <p>
          {stale
            ? 'The portal was updated on the node while this page was open. Reload the page; your wallet stays locked in this browser.'
            : plainError(this.state.error)}
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload the page
        </button>
      </section>
    );
  }
}
