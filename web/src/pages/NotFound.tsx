import { Link } from 'react-router';

export function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no such page. <Link to="/fleet">Go to the fleet</Link>.
      </p>
    </>
  );
}
