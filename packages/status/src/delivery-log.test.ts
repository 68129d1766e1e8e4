import { describe, expect, it } from 'vitest'
import { shownDeliveries, withoutSecrets } from './delivery-log.ts'

const attempt = {
  event: 'job.completed' as const,
  attempt: 1,
  status_code: 204,
  error: null,
  at: '',
  webhook_id: 'msg_1',
}
const callback = { ...attempt, url: 'https://app.example/hook?sig=mine', target: 'callback' as const }
const operator = { ...attempt, url: 'https://ops:pw@ops.example/in?token=T#x', target: 'operator' as const }

describe('shownDeliveries', () => {
  it("shows a plain key its callback's attempts whole, and no operator target", () => {
    expect(shownDeliveries([callback, operator], { admin: false, callbackUrl: undefined })).toEqual([
      callback,
    ])
  })

  it('shows an admin the operator targets without credentials, query or fragment', () => {
    expect(shownDeliveries([callback, operator], { admin: true, callbackUrl: undefined })).toEqual([
      callback,
      { ...operator, url: 'https://ops.example/in' },
    ])
  })

  it("tells entries written before the target was kept by the job's callback_url", () => {
    const { target: _c, ...oldCallback } = callback
    const { target: _o, ...oldOperator } = operator
    expect(shownDeliveries([oldCallback, oldOperator], { admin: false, callbackUrl: callback.url })).toEqual([
      callback,
    ])
  })
})

describe('withoutSecrets', () => {
  it('keeps scheme, host, port and path only', () => {
    expect(withoutSecrets('http://u:p@10.0.0.5:8080/a/b?x=1&token=y#z')).toBe('http://10.0.0.5:8080/a/b')
    expect(withoutSecrets('https://u@h.example')).toBe('https://h.example/')
    expect(withoutSecrets('not a url')).toBe('')
  })
})
