import t from 'tap'
import { clientKey } from '../../src/client-address.js'

// Issue 12.10: the login throttle and the rate limit key an IPv6 client by its /64.
t.test('an IPv4 address is its own key', async (t) => {
  t.equal(clientKey('203.0.113.5'), '203.0.113.5')
  t.equal(clientKey('127.0.0.1'), '127.0.0.1')
})

t.test('every address of one IPv6 /64 has the same key, whatever its spelling', async (t) => {
  const key = '2001:db8:0:1::/64'
  for (const address of ['2001:db8:0:1::1', '2001:db8:0:1:ffff:ffff:ffff:ffff', '2001:0DB8:0000:0001:0:0:0:2', '2001:db8:0:1:1:2:3:4',
    '2001:db8:0:1::192.0.2.1']) {
    t.equal(clientKey(address), key, address)
  }
  t.not(clientKey('2001:db8:0:2::1'), key, 'the next /64 is another client')
  t.equal(clientKey('::1'), '0:0:0:0::/64')
  t.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone index is dropped')
  t.equal(clientKey('1:2:3:4:5:6:7:8'), '1:2:3:4::/64')
})

t.test('an IPv4-mapped IPv6 address is keyed as its IPv4 address', async (t) => {
  t.equal(clientKey('::ffff:203.0.113.5'), '203.0.113.5')
  t.equal(clientKey('::FFFF:cb00:7105'), '203.0.113.5', 'also in hexadecimal')
  t.equal(clientKey('0:0:0:0:0:ffff:7f00:1'), '127.0.0.1')
  t.not(clientKey('64:ff9b::203.0.113.5'), '203.0.113.5', 'NAT64 is not a mapped address')
})

t.test('something that is no IP address is kept as it is', async (t) => {
  t.equal(clientKey('unix-socket'), 'unix-socket')
  t.equal(clientKey(''), '')
  t.equal(clientKey('2001:db8::g'), '2001:db8::g')
})
