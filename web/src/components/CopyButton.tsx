import { useState } from 'react';

/** Copies `text` to the clipboard and says so in a polite live region. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [status, setStatus] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied to the clipboard');
    } catch {
      setStatus('Copy failed: select the text and copy it by hand');
    }
    setTimeout(() => setStatus(''), 3000);
  };
  return (
    <span className="copy">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span role="status" aria-live="polite" className="copy-status">
        {status}
      </span>
    </span>
  );
}
