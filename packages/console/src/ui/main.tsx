/** The console's entry: the stylesheet (esbuild writes it to app.css) and the app. */
import { render } from 'preact'
import { App } from './app.tsx'
import './style.css'

const root = document.getElementById('app')
if (root) render(<App />, root)
