export function App() {
  return (
    <main>
      <h1>Carekey</h1>
      <p>Your medical records, your keys.</p>
    </main>
  );
}
