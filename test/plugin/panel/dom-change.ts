/** Resolves once `ok()` holds, checked on every change under `root` (a panel's shadow DOM): an event, no polling. */
export const whenDom = (root: Node, ok: () => boolean) =>
  new Promise<void>((resolve) => {
    if (ok()) return resolve();
    const observer = new MutationObserver(() => {
      if (!ok()) return;
      observer.disconnect();
      resolve();
    });
    observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  });
