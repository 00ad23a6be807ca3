# Usage: python lr.py FEATURES_JSON LABELS_JSONL FEATURE,FEATURE,...
import sys
import numpy as np
from rows import REG, load
rows = load(sys.argv[1], sys.argv[2], 'nov')
CL=['Snow','Clear','Cloudy','Rain']
F=sys.argv[3].split(',')
def fit(X,y,l2=1e-2,it=1500,lr=0.5):
    n,d=X.shape; W=np.zeros((d,4)); b=np.zeros(4); Y=np.eye(4)[y]
    for _ in range(it):
        z=X@W+b; z-=z.max(1,keepdims=True); p=np.exp(z); p/=p.sum(1,keepdims=True)
        g=(p-Y)/n; W-=lr*(X.T@g+l2*W); b-=lr*g.sum(0)
    return W,b
tot=[0,0,0,0]
for k in range(13):
    rr=[r for r in rows if r['region']==k and r['truth']!='Typhoon']
    X=np.array([[r[f] for f in F] for r in rr]); y=np.array([CL.index(r['truth']) for r in rr]); tr=np.array([r['day']<15 for r in rr])
    mu,sd=X[tr].mean(0),X[tr].std(0)+1e-6; Xs=(X-mu)/sd
    W,b=fit(Xs[tr],y[tr]); pred=(Xs@W+b).argmax(1)
    a=np.mean(pred[tr]==y[tr]); t=np.mean(pred[~tr]==y[~tr])
    tot[0]+=a*tr.sum();tot[1]+=tr.sum();tot[2]+=t*(~tr).sum();tot[3]+=(~tr).sum()
    print(k,REG[k][:10],round(a,3),round(t,3))
print('train',tot[0]/tot[1],'test',tot[2]/tot[3])
