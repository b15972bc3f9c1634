// Line charts drawn on <canvas>: no library, a few hundred points each, redrawn on every tick.

const PAD = { left: 44, right: 8, top: 8, bottom: 18 }

function niceMax(value) {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power
  return 10 * power
}

function shortNumber(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`
  return `${+value.toFixed(value < 10 ? 2 : 0)}`
}

function clock(t, withSeconds) {
  const d = new Date(t)
  const hh = String(d.getHours()).padStart(2, '0')
  const mm = String(d.getMinutes()).padStart(2, '0')
  return withSeconds ? `${hh}:${mm}:${String(d.getSeconds()).padStart(2, '0')}` : `${hh}:${mm}`
}

/**
 * Draws series over shared times. `series`: [{ values: (number|null)[], color }]; a null leaves a gap.
 * `unit` is appended to the axis labels (or `format(value)` makes them); `fixedMax` pins the scale (100 for percentages).
 */
export function drawChart(canvas, times, series, { unit = '', fixedMax, seconds = true, format } = {}) {
  const ratio = window.devicePixelRatio || 1
  const width = canvas.clientWidth
  const height = canvas.clientHeight
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio)
    canvas.height = Math.round(height * ratio)
  }
  const g = canvas.getContext('2d')
  g.setTransform(ratio, 0, 0, ratio, 0, 0)
  g.clearRect(0, 0, width, height)
  const styles = getComputedStyle(canvas)
  const grid = styles.getPropertyValue('--grid').trim() || '#333'
  const text = styles.getPropertyValue('--muted').trim() || '#888'
  let top = 0
  for (const s of series) for (const v of s.values) if (v !== null && v > top) top = v
  const max = fixedMax ?? niceMax(top)
  const plotW = width - PAD.left - PAD.right
  const plotH = height - PAD.top - PAD.bottom
  const x = (i) => PAD.left + (times.length <= 1 ? plotW : (i / (times.length - 1)) * plotW)
  const y = (v) => PAD.top + plotH - (v / max) * plotH

  g.font = '10px system-ui, sans-serif'
  g.fillStyle = text
  g.strokeStyle = grid
  g.lineWidth = 1
  g.textAlign = 'right'
  g.textBaseline = 'middle'
  for (let k = 0; k <= 2; k++) {
    const v = (max * k) / 2
    const yy = Math.round(y(v)) + 0.5
    g.beginPath()
    g.moveTo(PAD.left, yy)
    g.lineTo(width - PAD.right, yy)
    g.stroke()
    g.fillText(format ? format(v) : shortNumber(v) + unit, PAD.left - 4, yy)
  }
  if (times.length > 1) {
    g.textBaseline = 'top'
    g.textAlign = 'left'
    g.fillText(clock(times[0], seconds), PAD.left, height - PAD.bottom + 4)
    g.textAlign = 'right'
    g.fillText(clock(times[times.length - 1], seconds), width - PAD.right, height - PAD.bottom + 4)
  }

  for (const s of series) {
    g.strokeStyle = s.color
    g.lineWidth = 1.5
    g.lineJoin = 'round'
    g.beginPath()
    let drawing = false
    s.values.forEach((v, i) => {
      if (v === null) {
        drawing = false
        return
      }
      if (drawing) g.lineTo(x(i), y(v))
      else g.moveTo(x(i), y(v))
      drawing = true
    })
    g.stroke()
    if (s.fill) {
      g.globalAlpha = 0.12
      g.fillStyle = s.color
      g.beginPath()
      g.moveTo(x(0), y(0))
      s.values.forEach((v, i) => g.lineTo(x(i), y(v ?? 0)))
      g.lineTo(x(s.values.length - 1), y(0))
      g.closePath()
      g.fill()
      g.globalAlpha = 1
    }
  }
}
